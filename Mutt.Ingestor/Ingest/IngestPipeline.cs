using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Mutt.Core.Redis;
using Mutt.Core.Security;
using Mutt.Core.Telemetry;
using Mutt.Ingestor.Apis;
using StackExchange.Redis;

namespace Mutt.Ingestor.Ingest;

/// <summary>A request body as a body parser sees it: the bytes (valid only during the call) and the request's context.</summary>
public readonly record struct IngestBody(
    ReadOnlyMemory<byte> Body,
    bool IsNdjson,
    BatchLimits Limits,
    string? HeaderCorrelationId,
    DateTimeOffset ReceivedAt,
    string? TraceParent);

/// <summary>
/// The HTTP intake every ingest route shares (the REST batch endpoint and the webhook adapters):
/// the failure limiter (429 after repeated bad keys from one address), key check, backpressure, body limits, then the route's parser, then one LPUSH (and WAIT) and
/// the 202 only once the events are in Redis. A parser turns the body into queue items or refuses
/// it whole (all-or-nothing); it never does I/O.
/// </summary>
public sealed class IngestPipeline(IOptions<IngestOptions> options, IOptions<Mutt.Core.Events.EventLimits> eventLimits, IngestAuth auth, AuthFailureGuard guard, QueueDepthSampler sampler, IngestWriter writer,
    IngestMetrics metrics, ThroughputCounters counters, ILogger<IngestPipeline> logger)
{
    /// <summary>The <c>surface</c> label of mutt_auth_failures_total for the ingest routes.</summary>
    public const string AuthSurface = "ingest";

    /// <param name="source">The <c>source</c> label of <c>mutt_ingest_events_total</c> for what this route accepts.</param>
    public async Task<Results<Accepted<IngestAccepted>, ValidationProblem, ProblemHttpResult>> AcceptAsync(
        HttpContext context, string source, Func<IngestBody, ParsedBatch> parse)
    {
        var started = Stopwatch.GetTimestamp();
        var settings = options.Value;
        try
        {
            if (guard.RefuseIfBlocked(context, AuthSurface))
            {
                metrics.Request("fail", IngestReasons.RateLimited, IngestAuth.NoKey);
                return TypedResults.Problem("Too many failed API key checks from this address; retry later.",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests");
            }
            var key = auth.Authenticate(IngestCredentials.Presented(context.Request.Headers));
            if (key is null)
            {
                guard.RecordFailure(context.Connection.RemoteIpAddress, AuthSurface);
                metrics.Request("fail", IngestReasons.Auth, IngestAuth.NoKey);
                logger.LogWarning("Ingest request ({Source}) from {Address} refused: invalid or missing API key", source, context.Connection.RemoteIpAddress);
                return TypedResults.Problem("invalid or missing API key", statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");
            }
            if (await sampler.IsFullAsync())
            {
                metrics.Request("fail", IngestReasons.Backpressure, key);
                context.Response.Headers.RetryAfter = settings.INGEST_RETRY_AFTER_SECONDS.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem($"The ingest queue is full ({sampler.LastDepth} of {sampler.Cap}); retry later.",
                    statusCode: StatusCodes.Status503ServiceUnavailable, title: "Backpressure");
            }

            var limit = settings.INGEST_MAX_BODY_BYTES;
            if (context.Request.ContentLength > limit)
            {
                return TooLarge(key, $"The body may be at most {limit} bytes.");
            }
            var (buffer, length) = await ReadBodyAsync(context, limit);
            if (buffer is null)
            {
                return TooLarge(key, $"The body may be at most {limit} bytes.");
            }
            // The queue items carry this span's context: the Alerter and Forwarder continue the request's trace.
            using var send = MuttTracing.Ingestor.StartActivity(MuttTracing.Spans.IngestSend, ActivityKind.Producer);
            ParsedBatch batch;
            try
            {
                var contentType = context.Request.ContentType ?? "";
                var ndjson = contentType.StartsWith("application/x-ndjson", StringComparison.OrdinalIgnoreCase)
                    || contentType.StartsWith("application/jsonl", StringComparison.OrdinalIgnoreCase);
                var header = context.Request.Headers[Microsoft.Extensions.Hosting.Extensions.CorrelationIdHeader].ToString();
                batch = parse(new IngestBody(buffer.AsMemory(0, length), ndjson,
                    settings.Limits(eventLimits.Value),
                    header.Length > 0 && context.Items[Microsoft.Extensions.Hosting.Extensions.CorrelationIdHeader] is string kept && kept == header ? header : null,
                    DateTimeOffset.UtcNow,
                    MuttTracing.TraceParentOf(send ?? Activity.Current)));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (batch.Outcome != BatchOutcome.Accepted)
            {
                send?.SetTag(MuttTracing.Tags.Outcome, "rejected");
            }
            switch (batch.Outcome)
            {
                case BatchOutcome.TooLarge:
                    return TooLarge(key, batch.Detail!);
                case BatchOutcome.InvalidJson when batch.Errors.Count == 0:
                    metrics.Request("fail", IngestReasons.InvalidJson, key);
                    return TypedResults.Problem(batch.Detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON");
                case BatchOutcome.InvalidJson:
                    metrics.Request("fail", IngestReasons.InvalidJson, key);
                    return TypedResults.ValidationProblem(batch.Errors, detail: batch.Detail, title: "Malformed JSON");
                case BatchOutcome.Invalid:
                    metrics.Request("fail", IngestReasons.Validation, key);
                    return TypedResults.ValidationProblem(batch.Errors,
                        detail: batch.Detail ?? "No event of this request was enqueued; fix the listed fields and send it again.");
                case BatchOutcome.UnknownSource:
                    metrics.Request("fail", IngestReasons.UnknownSource, key);
                    return TypedResults.Problem(batch.Detail, statusCode: StatusCodes.Status404NotFound, title: "Unknown source");
                case BatchOutcome.Unavailable:
                    metrics.Request("fail", IngestReasons.Unavailable, key);
                    context.Response.Headers.RetryAfter = settings.INGEST_RETRY_AFTER_SECONDS.ToString(CultureInfo.InvariantCulture);
                    return TypedResults.Problem(batch.Detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready");
            }

            send?.SetTag(MuttTracing.Tags.MessagingSystem, "redis")
                .SetTag(MuttTracing.Tags.MessagingDestination, writer.Queue)
                .SetTag(MuttTracing.Tags.MessagingBatchCount, batch.Items.Count);
            if (batch.CorrelationIds.Count == 1)
            {
                send?.SetTag(MuttTracing.Tags.CorrelationId, batch.CorrelationIds[0]);
            }
            var values = new RedisValue[batch.Items.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = batch.Items[i];
            }
            PushOutcome pushed;
            try
            {
                pushed = await writer.PushAsync(values);
            }
            catch (Exception ex) when (RedisFaults.IsTransient(ex))
            {
                metrics.Request("fail", IngestReasons.RedisError, key);
                send?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                logger.LogWarning("Could not enqueue {Count} events: {Error}", values.Length, ex.GetType().Name);
                context.Response.Headers.RetryAfter = settings.INGEST_RETRY_AFTER_SECONDS.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem("The event queue is unavailable; retry later.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Queue unavailable");
            }
            if (pushed == PushOutcome.ReplicaTimeout)
            {
                // On the master, not yet confirmed by INGEST_WAIT_REPLICAS replicas: a failover now could lose it,
                // so the sender must not forget it. Its retry may duplicate the event (at-least-once).
                metrics.Request("fail", IngestReasons.ReplicaTimeout, key);
                send?.SetStatus(ActivityStatusCode.Error, "replica_timeout");
                context.Response.Headers.RetryAfter = settings.INGEST_RETRY_AFTER_SECONDS.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem($"The events were not confirmed by {writer.Replicas} Redis replica(s) in time; retry later.",
                    statusCode: StatusCodes.Status503ServiceUnavailable, title: "Replica timeout");
            }
            metrics.Request("success", IngestReasons.Ok, key);
            metrics.Events.Add(values.Length, new KeyValuePair<string, object?>("source", source));
            counters.Add(values.Length);
            if (batch.CorrelationIds.Count == 1)
            {
                context.Response.Headers[Microsoft.Extensions.Hosting.Extensions.CorrelationIdHeader] = batch.CorrelationIds[0];
            }
            return TypedResults.Accepted((string?)null, new IngestAccepted("accepted", values.Length, batch.CorrelationIds));
        }
        finally
        {
            metrics.Latency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private ProblemHttpResult TooLarge(string key, string detail)
    {
        metrics.Request("fail", IngestReasons.TooLarge, key);
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large");
    }
    /// <summary>Reads the body into a pooled buffer; null when it exceeds <paramref name="limit"/> (never buffers more than limit + one read).</summary>
    private static async Task<(byte[]? Buffer, int Length)> ReadBodyAsync(HttpContext context, int limit)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = (long)limit + 1;
        }
        var expected = context.Request.ContentLength is { } declared ? (int)Math.Min(declared, limit) : 4096;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(expected, 256));
        var length = 0;
        var body = context.Request.Body;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (null, 0);
                    }
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await body.ReadAsync(buffer.AsMemory(length), context.RequestAborted);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > limit)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (null, 0);
                }
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, 0);
        }
        return (buffer, length);
    }
}
