using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Mutt.Testing;
using Mutt.Core.Secrets;
using Mutt.Forwarder.Moogsoft;
using Mutt.Forwarder.Services;

using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Integration;

/// <summary>The Forwarder's Moogsoft client reads MOOG_API_KEY from the secret store per request.</summary>
[Trait("Category", "Integration")]
public sealed class ForwarderApiKeyRotationTests
{
    [Fact]
    public async Task A_rotated_MOOG_API_KEY_is_sent_on_the_next_request_without_restart()
    {
        var port = NativeProcess.FreeTcpPort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var headers = new ConcurrentQueue<string?>();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                headers.Enqueue(context.Request.Headers["Authorization"]);
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });

        var secrets = new FixedSecretStore((SecretNames.MoogApiKey, "old-key"));
        var options = Options.Create(new ForwarderOptions { WebhookUrl = $"http://127.0.0.1:{port}/api/v1/events", ApiKey = "configured-key", ApiUser = "mutt" });
        using var meters = new TestMeterFactory();
        var metrics = new ForwarderMetrics(meters, new Mutt.Core.Redis.FlowCounters());
        using var client = new MoogClient(options, metrics, secrets);
        var body = Encoding.UTF8.GetBytes("[]");

        Assert.Equal(SendResult.Success, (await client.SendAsync(body, CancellationToken.None)).Result);
        secrets.Set(SecretNames.MoogApiKey, "new-key");
        Assert.Equal(SendResult.Success, (await client.SendAsync(body, CancellationToken.None)).Result);
        // Secret removed from the store: the configured MOOG_API_KEY is the fallback.
        secrets.Set(SecretNames.MoogApiKey, "");
        Assert.Equal(SendResult.Success, (await client.SendAsync(body, CancellationToken.None)).Result);

        listener.Stop();
        await serving;
        Assert.Equal([Basic("mutt:old-key"), Basic("mutt:new-key"), Basic("mutt:configured-key")], headers.Select(h => h ?? "(no header)").ToArray());
    }

    private static string Basic(string credentials) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials));
}
