using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mutt.MoogSink.Sink;

namespace Mutt.MoogSink.Apis;

/// <summary>The Moogsoft REST LAM stand-in: <c>POST /api/v1/events</c>.</summary>
public static class MoogEventsApi
{
    public static IEndpointRouteBuilder MapMoogEventsApi(this IEndpointRouteBuilder app)
    {
        var expectedAuth = app.ServiceProvider.GetRequiredService<IConfiguration>()["MOOG_API_KEY"] is { Length: > 0 } key
            ? Encoding.ASCII.GetBytes("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("mutt:" + key)))
            : null;
        app.MapPost("/api/v1/events", (HttpContext context, SinkStore store) => ReceiveAsync(context, store, expectedAuth))
            .WithName("ReceiveEvents").WithSummary("Accepts Moogsoft events like the REST LAM").WithTags("lam");
        return app;
    }

    private static async Task ReceiveAsync(HttpContext context, SinkStore store, byte[]? expectedAuth)
    {
        store.RequestStarted();
        try
        {
            await AnswerRequestAsync(context, store, expectedAuth);
        }
        finally
        {
            store.RequestEnded();
        }
    }

    private static async Task AnswerRequestAsync(HttpContext context, SinkStore store, byte[]? expectedAuth)
    {
        var id = store.NextRequestId();
        var mode = store.Mode;
        if (mode.DelayMs > 0)
        {
            await Task.Delay(mode.DelayMs, context.RequestAborted);
        }
        if (mode.Drop)
        {
            store.RecordRequest(id, 0, null);
            context.Abort();
            return;
        }
        if (expectedAuth is not null)
        {
            var given = Encoding.ASCII.GetBytes(context.Request.Headers.Authorization.ToString());
            if (!CryptographicOperations.FixedTimeEquals(given, expectedAuth))
            {
                await AnswerAsync(context, store, id, StatusCodes.Status401Unauthorized, "authentication failed");
                return;
            }
        }
        if (mode.Status != 200)
        {
            if (mode.RetryAfter is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            await AnswerAsync(context, store, id, mode.Status, $"sink mode answers {mode.Status}");
            return;
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
        }
        catch (JsonException ex)
        {
            await AnswerAsync(context, store, id, StatusCodes.Status400BadRequest, "invalid JSON: " + ex.Message);
            return;
        }
        using (document)
        {
            var error = LamValidator.Validate(document.RootElement);
            if (error is not null)
            {
                await AnswerAsync(context, store, id, StatusCodes.Status400BadRequest, error);
                return;
            }
            var now = DateTimeOffset.UtcNow;
            var events = document.RootElement.GetProperty("events");
            var accepted = new List<RecordedEvent>(events.GetArrayLength());
            foreach (var e in events.EnumerateArray())
            {
                accepted.Add(new RecordedEvent(id, now, e.GetProperty("signature").GetString()!, e.GetRawText()));
            }
            store.RecordRequest(id, StatusCodes.Status200OK, accepted);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"success":true,"message":"Processed {{accepted.Count}} event(s)"}""");
        }
    }

    private static Task AnswerAsync(HttpContext context, SinkStore store, long id, int status, string message)
    {
        store.RecordRequest(id, status, null);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteBoolean("success", false);
            json.WriteString("message", message);
            json.WriteNumber("statusCode", status);
            json.WriteEndObject();
        }
        return context.Response.Body.WriteAsync(body.ToArray()).AsTask();
    }
}
