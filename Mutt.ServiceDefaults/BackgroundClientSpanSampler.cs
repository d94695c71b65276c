using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Mutt.ServiceDefaults;

/// <summary>
/// Keeps Redis and PostgreSQL command spans only inside a trace. MUTT's background loops (queue depth
/// samplers, heartbeats, janitors, rule-cache reloads, circuit polls) issue commands outside any request
/// or event span; sampled, each command would be a trace of its own: about 11,000 in three minutes of
/// an idle local run, pushing an event's trace out of the Aspire dashboard's buffer within minutes.
/// A root span of kind Client is therefore dropped, except an outgoing HTTP request (a Dashboard action
/// calling another service starts a trace worth keeping, and its traceparent reaches the callee).
/// Everything else follows its parent, or as a root (an HTTP request, an event span) is always sampled.
/// </summary>
public sealed class BackgroundClientSpanSampler : Sampler
{
    /// <summary>The operation name of System.Net.Http's own activity (HttpClient instrumentation).</summary>
    public const string HttpClientOperation = "System.Net.Http.HttpRequestOut";

    private static readonly Sampler Inner = new ParentBasedSampler(new AlwaysOnSampler());

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.ParentContext.TraceId == default
        && samplingParameters.Kind == ActivityKind.Client
        && samplingParameters.Name != HttpClientOperation
            ? new SamplingResult(SamplingDecision.Drop)
            : Inner.ShouldSample(samplingParameters);
}
