using System.Buffers;
using System.Text;
using Mutt.Ingestor.Relp;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RelpFramerTests
{
    private static List<RelpFrame> Feed(RelpFramer framer, params string[] chunks)
    {
        var frames = new List<RelpFrame>();
        foreach (var chunk in chunks)
        {
            framer.Feed(Encoding.UTF8.GetBytes(chunk), frames);
        }
        return frames;
    }

    [Fact]
    public void Frames_split_anywhere_across_reads_come_out_whole()
    {
        const string offers = "relp_version=0\ncommands=syslog\nabc";
        var stream = $"1 open {offers.Length} {offers}\n2 syslog 11 hello\nworld\n3 close 0\n";
        for (var cut = 0; cut <= stream.Length; cut++)
        {
            var frames = Feed(new RelpFramer(1024), stream[..cut], stream[cut..]);
            Assert.Equal([(1L, "open"), (2L, "syslog"), (3L, "close")], frames.Select(f => (f.Txnr, f.Command)));
            Assert.Equal("relp_version=0\ncommands=syslog\nabc", Encoding.UTF8.GetString(frames[0].Data));
            Assert.Equal("hello\nworld", Encoding.UTF8.GetString(frames[1].Data)); // DATA may contain LF: only DATALEN delimits it
            Assert.Empty(frames[2].Data);
            Assert.All(frames, f => Assert.Null(f.Error));
        }
    }

    [Fact]
    public void Data_over_the_limit_is_cut_flagged_and_the_next_frame_still_parses()
    {
        var big = new string('x', 5000);
        var frames = Feed(new RelpFramer(100), $"7 syslog {big.Length} {big}\n8 syslog 2 ok\n");
        Assert.Equal(100, frames[0].Data.Length);
        Assert.True(frames[0].Truncated);
        Assert.Equal((8L, "ok", false), (frames[1].Txnr, Encoding.UTF8.GetString(frames[1].Data), frames[1].Truncated));
    }

    [Theory]
    [InlineData("x syslog 1 a\n", 0L, "frame does not start")]
    [InlineData("12 sys-log 1 a\n", 12L, "invalid command")]
    [InlineData("12 syslog abc\n", 12L, "invalid data length")]
    [InlineData("12 syslog 3 abcd\n", 12L, "missing frame trailer")]
    [InlineData("1234567890 syslog 1 a\n", 0L, "invalid transaction number")]
    public void A_malformed_frame_is_reported_once_and_nothing_after_it_is_framed(string bad, long txnr, string error)
    {
        var framer = new RelpFramer(1024);
        var frames = Feed(framer, "1 syslog 1 a\n" + bad, "2 syslog 1 b\n");
        Assert.Equal(2, frames.Count);
        Assert.Null(frames[0].Error);
        Assert.StartsWith(error, frames[1].Error);
        Assert.Equal(txnr, frames[1].Txnr);
        Assert.True(framer.IsBroken);
    }

    [Fact]
    public void Answers_follow_the_relp_wire_format()
    {
        var output = new ArrayBufferWriter<byte>();
        RelpProtocol.WriteOk(output, 42);
        RelpProtocol.WriteError(output, 43, "command not supported: x");
        RelpProtocol.WriteCloseOk(output, 44);
        RelpProtocol.WriteOpenAnswer(output, 1, "relp_version=1\nrelp_software=librelp,1.11.0\ncommands=syslog"u8);
        RelpProtocol.WriteOpenAnswer(output, 2, "relp_version=0\ncommands=other"u8);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        var offers = $"200 OK\nrelp_version=0\nrelp_software={RelpProtocol.Software}\ncommands=syslog\n";
        var refusal = "500 required command not supported by client: syslog";
        Assert.Equal("42 rsp 6 200 OK\n43 rsp 28 500 command not supported: x\n44 rsp 0\n"
            + $"1 rsp {Encoding.UTF8.GetByteCount(offers)} {offers}\n2 rsp {refusal.Length} {refusal}\n", text);
    }

    [Fact]
    public void A_resent_frame_keeps_its_correlation_id_and_other_frames_or_senders_do_not_share_it()
    {
        var frame = "<13>1 2025-03-15T11:00:00.123456Z h app - - - text"u8.ToArray();
        var id = RelpProtocol.CorrelationId("10.0.0.1", frame);
        Assert.StartsWith("relp-", id);
        Assert.Equal(id, RelpProtocol.CorrelationId("10.0.0.1", frame.ToArray()));
        Assert.NotEqual(id, RelpProtocol.CorrelationId("10.0.0.2", frame));
        Assert.NotEqual(id, RelpProtocol.CorrelationId("10.0.0.1", "<13>1 2025-03-15T11:00:00.123457Z h app - - - text"u8));
    }
}
