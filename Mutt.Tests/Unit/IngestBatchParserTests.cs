using System.Text;
using System.Text.Json;
using Mutt.Core.Events;
using Mutt.Ingestor.Ingest;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class IngestBatchParserTests
{
    private static readonly BatchLimits Limits = new(["timestamp", "message", "hostname"], 32, 100);
    private static readonly DateTimeOffset Now = new(2025, 3, 15, 12, 0, 0, TimeSpan.Zero);

    private static ParsedBatch Parse(string body, bool ndjson = false, string? header = null) =>
        EventBatchParser.Parse(Encoding.UTF8.GetBytes(body), ndjson, Limits, header, Now);

    private const string Good = """{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h"}""";

    [Fact]
    public void Single_event_keeps_unknown_fields_and_gets_correlation_id_and_received_at()
    {
        var batch = Parse("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h","syslog_severity":3,"custom":{"a":[1,2]},"retry_count":"x"}""");
        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        var evt = JsonSerializer.Deserialize(batch.Items[0], MuttJsonContext.Default.MuttEvent)!;
        Assert.Equal(3, evt.SyslogSeverity);
        Assert.Equal(Now, evt.ReceivedAt);
        Assert.Equal(batch.CorrelationIds[0], evt.CorrelationId);
        Assert.True(Guid.TryParse(evt.CorrelationId, out _));
        Assert.Equal(2, evt.Extra!["custom"].GetProperty("a")[1].GetInt32());
        Assert.Equal(0, evt.RetryCount); // reserved field replaced, so consumers can always deserialize
    }

    /// <summary>Events without reserved fields keep their original bytes (no re-serialisation); the result must still be one valid object with each field once.</summary>
    [Theory]
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"caf\u00e9 \"q\" é","hostname":"h","nested":{"a":[1,{"b":null}]}}""")]
    [InlineData("{\n  \"timestamp\": \"2025-03-15T11:00:00Z\",\n  \"message\": \"m\",\n  \"hostname\": \"h\"\n}\n")]
    [InlineData("""[{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h"} , {"timestamp":"2025-03-15T11:00:00Z","message":"m2","hostname":"h2","x":1}]""")]
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h","received_at":"1999-01-01T00:00:00Z"}""")]
    public void Enqueued_items_are_valid_objects_with_each_added_field_exactly_once(string body)
    {
        var batch = Parse(body);
        Assert.Equal(BatchOutcome.Accepted, batch.Outcome);
        Assert.NotEmpty(batch.Items);
        for (var i = 0; i < batch.Items.Count; i++)
        {
            using var document = JsonDocument.Parse(batch.Items[i]);
            var names = document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(names.Count, names.Distinct().Count());
            Assert.Equal(batch.CorrelationIds[i], document.RootElement.GetProperty("correlation_id").GetString());
            Assert.Equal(Now, document.RootElement.GetProperty("received_at").GetDateTimeOffset());
            Assert.StartsWith("h", document.RootElement.GetProperty("hostname").GetString()!);
        }
        if (body.Contains("caf", StringComparison.Ordinal))
        {
            using var document = JsonDocument.Parse(batch.Items[0]);
            Assert.Equal("café \"q\" é", document.RootElement.GetProperty("message").GetString());
            Assert.True(document.RootElement.GetProperty("nested").GetProperty("a")[1].GetProperty("b").ValueKind == JsonValueKind.Null);
        }
    }

    [Fact]
    public void Correlation_id_comes_from_the_field_then_the_header()
    {
        Assert.Equal("abc-1", Parse(Good.Replace("}", ""","correlation_id":"abc-1"}"""), header: "hdr").CorrelationIds[0]);
        Assert.Equal("hdr", Parse(Good, header: "hdr").CorrelationIds[0]);
    }

    [Fact]
    public void Batch_errors_name_each_index_and_field_and_nothing_is_accepted()
    {
        var batch = Parse($$"""[{{Good}}, {"timestamp":"yesterday","message":5,"syslog_severity":9}, 42]""");
        Assert.Equal(BatchOutcome.Invalid, batch.Outcome);
        Assert.Empty(batch.Items);
        Assert.Equal(["[1].hostname", "[1].message", "[1].syslog_severity", "[1].timestamp", "[2]"], batch.Errors.Keys.Order().ToArray());
    }

    [Theory]
    [InlineData("{", BatchOutcome.InvalidJson)]
    [InlineData("[]", BatchOutcome.Invalid)]
    [InlineData("\"text\"", BatchOutcome.Invalid)]
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":""}""", BatchOutcome.Invalid)]
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h","syslog_severity":2.5}""", BatchOutcome.Invalid)]
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h","syslog_severity":"3"}""", BatchOutcome.Invalid)]
    [InlineData("""{"timestamp":"2025-03-15T11:00:00Z","message":"m","hostname":"h","correlation_id":"has space"}""", BatchOutcome.Invalid)]
    public void Bad_bodies_are_refused(string body, BatchOutcome outcome)
    {
        var batch = Parse(body);
        Assert.Equal(outcome, batch.Outcome);
        Assert.Empty(batch.Items);
    }

    [Fact]
    public void Depth_limit_is_enforced()
    {
        var deep = Good.Replace("}", ""","x":""" + new string('[', 40) + new string(']', 40) + "}");
        Assert.Equal(BatchOutcome.InvalidJson, Parse(deep).Outcome);
    }

    [Fact]
    public void Batch_size_limit_is_enforced()
    {
        var body = "[" + string.Join(",", Enumerable.Repeat(Good, 101)) + "]";
        Assert.Equal(BatchOutcome.TooLarge, Parse(body).Outcome);
    }

    [Fact]
    public void Ndjson_lines_are_events_and_a_bad_line_is_named_by_index()
    {
        Assert.Equal(3, Parse($"{Good}\n\n{Good}\r\n{Good}", ndjson: true).Items.Count);
        var bad = Parse($"{Good}\n{{nope\n{Good}", ndjson: true);
        Assert.Equal(BatchOutcome.InvalidJson, bad.Outcome);
        Assert.Equal(["[1]"], bad.Errors.Keys.ToArray());
    }
}
