using System.Text.Json;
using Mutt.MoogSink.Sink;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SinkValidatorTests
{
    private const string Good = """{"signature":"s","source":"h","severity":3,"description":"d","agent_time":1}""";

    [Theory]
    [InlineData("[]", "object")]
    [InlineData("""{"event":[]}""", "'events'")]
    [InlineData("""{"events":[]}""", "empty")]
    [InlineData("""{"events":[{"source":"h","severity":3,"description":"d"}]}""", "signature")]
    [InlineData("""{"events":[{"signature":"s","severity":3,"description":"d"}]}""", "source")]
    [InlineData("""{"events":[{"signature":"s","source":"h","severity":6,"description":"d"}]}""", "severity")]
    [InlineData("""{"events":[{"signature":"s","source":"h","severity":"3","description":"d"}]}""", "severity")]
    [InlineData("""{"events":[{"signature":"s","source":"h","severity":3}]}""", "description")]
    public void Rejects_wrong_shapes_with_a_reason(string body, string mentioned)
    {
        using var doc = JsonDocument.Parse(body);
        var error = LamValidator.Validate(doc.RootElement);
        Assert.NotNull(error);
        Assert.Contains(mentioned, error);
    }

    [Fact]
    public void Accepts_a_valid_request()
    {
        using var doc = JsonDocument.Parse($$"""{"events":[{{Good}},{{Good}}]}""");
        Assert.Null(LamValidator.Validate(doc.RootElement));
    }
}
