using System.Text;
using Mutt.Ingestor.Syslog;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SyslogFramerTests
{
    private static List<(string Text, bool Truncated)> Frame(int max, params string[] chunks)
    {
        var framer = new SyslogFramer(max);
        var frames = new List<SyslogFrame>();
        foreach (var chunk in chunks)
        {
            framer.Feed(Encoding.UTF8.GetBytes(chunk), frames);
        }
        framer.Flush(frames);
        return frames.Select(f => (Encoding.UTF8.GetString(f.Data), f.Truncated)).ToList();
    }

    [Fact]
    public void Newline_framing_splits_lines_and_strips_cr()
    {
        Assert.Equal([("<13>a b", false), ("<13>c", false)], Frame(1024, "<13>a b\r\n<13>c\n"));
    }

    [Fact]
    public void Octet_counting_frames_may_contain_newlines_and_span_reads()
    {
        var first = "<13>1 - h a - - - line1\nline2";
        var second = "<14>x";
        var stream = $"{Encoding.UTF8.GetByteCount(first)} {first}{second.Length} {second}";
        // Feed one byte at a time: the framer must keep state across reads.
        Assert.Equal([(first, false), (second, false)], Frame(1024, stream.Select(c => c.ToString()).ToArray()));
    }

    [Fact]
    public void Framing_is_detected_per_frame()
    {
        Assert.Equal([("<13>one", false), ("<13>two", false), ("<13>three", false)], Frame(1024, "7 <13>one<13>two\n9 <13>three"));
    }

    [Fact]
    public void Digit_led_line_without_count_is_a_line()
    {
        Assert.Equal([("2025-03-15 kernel: up", false), ("<13>x", false)], Frame(1024, "2025-03-15 kernel: up\n<13>x\n"));
    }

    [Fact]
    public void Oversized_octet_frame_is_cut_flagged_and_the_rest_skipped()
    {
        var big = new string('x', 100);
        Assert.Equal([(new string('x', 16), true), ("<13>next", false)], Frame(16, $"100 {big}", "8 <13>next"));
    }

    [Fact]
    public void Oversized_line_is_cut_flagged_and_the_rest_skipped_until_newline()
    {
        Assert.Equal([(new string('y', 16), true), ("<13>ok", false)], Frame(16, new string('y', 40), new string('y', 40) + "\n<13>ok\n"));
    }

    [Fact]
    public void Final_line_without_newline_is_flushed_at_end_of_stream()
    {
        Assert.Equal([("<13>last", false)], Frame(64, "<13>last"));
    }
}
