using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Mutt.MoogSink.Sink;

namespace Mutt.MoogSink.Apis;

/// <summary>Inspection and fault injection for tests and demos: <c>/sink/events</c>, <c>/sink/stats</c>, <c>/sink/requests</c>, <c>/sink/mode</c>.</summary>
public static class SinkControlApi
{
    public static IEndpointRouteBuilder MapSinkControlApi(this IEndpointRouteBuilder app)
    {
        var sink = app.MapGroup("/sink").WithTags("sink");
        sink.MapGet("/events", ListEvents).WithName("ListSinkEvents").WithSummary("Events received (optionally ?signature=), each with received_at and request_id");
        sink.MapDelete("/events", (SinkStore store) => { store.Reset(); return TypedResults.NoContent(); }).WithName("ResetSink").WithSummary("Forgets everything received");
        sink.MapGet("/stats", (SinkStore store) => TypedResults.Ok(store.Stats())).WithName("SinkStats").WithSummary("requests, events, distinct_signatures, by_status, peak_in_flight (most requests answered at once)");
        sink.MapGet("/requests", (SinkStore store) => TypedResults.Ok(store.Requests())).WithName("SinkRequests").WithSummary("Every request answered, with received_at and status");
        sink.MapGet("/mode", (SinkStore store) => TypedResults.Ok(ModeJson(store.Mode))).WithName("GetSinkMode");
        sink.MapPost("/mode", SetMode).WithName("SetSinkMode").WithSummary("{\"status\":500} | {\"status\":429,\"retry_after\":2} | {\"delay_ms\":3000} | {\"drop\":true} | {\"status\":200}");
        return app;
    }

    private static IResult ListEvents(SinkStore store, string? signature)
    {
        var events = store.Events(signature);
        // Events are kept as the raw JSON that arrived; the listing adds received_at and request_id beside it.
        var sb = new StringBuilder(events.Length * 512 + 2).Append('[');
        for (var i = 0; i < events.Length; i++)
        {
            var e = events[i];
            if (i > 0)
            {
                sb.Append(',');
            }
            var raw = e.RawJson.AsSpan().TrimEnd();
            sb.Append(raw[..^1]);
            sb.Append(",\"received_at\":\"").Append(e.ReceivedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture))
              .Append("\",\"request_id\":").Append(e.RequestId).Append('}');
        }
        sb.Append(']');
        return Results.Text(sb.ToString(), "application/json");
    }

    private static Results<Ok<object>, BadRequest<string>> SetMode(SinkStore store, JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return TypedResults.BadRequest("mode must be a JSON object");
        }
        var status = body.TryGetProperty("status", out var s) && s.TryGetInt32(out var sv) ? sv : 200;
        int? retryAfter = body.TryGetProperty("retry_after", out var r) && r.TryGetInt32(out var rv) ? rv : null;
        var delay = body.TryGetProperty("delay_ms", out var d) && d.TryGetInt32(out var dv) ? dv : 0;
        var drop = body.TryGetProperty("drop", out var dr) && dr.ValueKind == JsonValueKind.True;
        if (status is < 100 or > 599)
        {
            return TypedResults.BadRequest("status must be an HTTP status code");
        }
        store.Mode = new SinkMode(status, retryAfter, delay, drop);
        return TypedResults.Ok(ModeJson(store.Mode));
    }

    private static object ModeJson(SinkMode m) => new { status = m.Status, retry_after = m.RetryAfter, delay_ms = m.DelayMs, drop = m.Drop };
}
