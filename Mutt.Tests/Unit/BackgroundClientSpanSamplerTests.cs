using System.Diagnostics;
using Mutt.ServiceDefaults;
using OpenTelemetry.Trace;

namespace Mutt.Tests.Unit;

/// <summary>Background Redis/PostgreSQL commands make no traces of their own; inside a trace they are kept.</summary>
[Trait("Category", "Unit")]
public sealed class BackgroundClientSpanSamplerTests
{
    private static readonly ActivityContext SampledParent = new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
    private static readonly ActivityContext UnsampledParent = new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None);

    private static SamplingDecision Decide(ActivityContext parent, ActivityKind kind, string name = "EVALSHA") =>
        new BackgroundClientSpanSampler().ShouldSample(new SamplingParameters(parent, ActivityTraceId.CreateRandom(), name, kind)).Decision;

    [Fact]
    public void A_client_command_outside_any_trace_is_dropped() =>
        Assert.Equal(SamplingDecision.Drop, Decide(default, ActivityKind.Client));

    [Theory]
    [InlineData(ActivityKind.Server)]
    [InlineData(ActivityKind.Producer)]
    [InlineData(ActivityKind.Consumer)]
    [InlineData(ActivityKind.Internal)]
    public void Root_spans_of_requests_and_events_are_recorded(ActivityKind kind) =>
        Assert.Equal(SamplingDecision.RecordAndSample, Decide(default, kind));

    [Fact]
    public void An_outgoing_http_request_outside_any_trace_starts_one() =>
        Assert.Equal(SamplingDecision.RecordAndSample, Decide(default, ActivityKind.Client, BackgroundClientSpanSampler.HttpClientOperation));

    [Fact]
    public void A_client_command_inside_a_sampled_trace_is_recorded() =>
        Assert.Equal(SamplingDecision.RecordAndSample, Decide(SampledParent, ActivityKind.Client));

    [Fact]
    public void A_span_follows_an_unsampled_parent() =>
        Assert.Equal(SamplingDecision.Drop, Decide(UnsampledParent, ActivityKind.Server));
}
