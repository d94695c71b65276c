using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mutt.Tests.Reliability;

/// <summary>
/// The runner against stand-ins that follow the documented answers (a Kestrel endpoint judging bodies by
/// <see cref="RestEventRules"/>, counting UDP/TCP listeners): proves the runner sends every case and reads
/// every answer before it is pointed at the real Ingestor.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BadInputRunnerTests
{
    private const string ApiKey = "test-key";

    [Fact]
    public async Task Runner_sends_every_case_reads_each_answer_and_keeps_good_traffic_flowing()
    {
        var options = new BadInputOptions { Seed = 11, Scale = 0.05, RestMaxBodyBytes = 64 * 1024 };
        var cases = new BadInputGenerator(options).Generate().ToList();
        await using var ingestor = await StartFakeIngestorAsync(options);
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        udp.ReceiveBufferSize = 8 * 1024 * 1024;
        using var snmp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        snmp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        snmp.ReceiveBufferSize = 8 * 1024 * 1024;
        var tcp = new TcpListener(IPAddress.Loopback, 0);
        tcp.Start();
        using var stop = new CancellationTokenSource();
        var udpCount = CountDatagramsAsync(udp, stop.Token);
        var snmpCount = CountDatagramsAsync(snmp, stop.Token);
        var tcpCount = CountConnectionsAsync(tcp, stop.Token);

        var runner = new BadInputRunner(new BadInputRunnerOptions
        {
            IngestorBaseUrl = new Uri(ingestor.Urls.First()),
            ApiKey = ApiKey,
            SyslogUdpPort = ((IPEndPoint)udp.LocalEndPoint!).Port,
            SyslogTcpPort = ((IPEndPoint)tcp.LocalEndpoint).Port,
            SnmpPort = ((IPEndPoint)snmp.LocalEndPoint!).Port,
            SnmpReplyWindow = TimeSpan.FromMilliseconds(200),
        });
        var result = await runner.RunAsync(cases);
        await Infrastructure.Eventually.WaitForAsync(() => Task.FromResult(Volatile.Read(ref tcpCount.Value)),
            n => n == result.Sent(BadInputTransport.SyslogTcp), TimeSpan.FromSeconds(30), "every TCP case to be received");
        await stop.CancelAsync();
        tcp.Stop();

        Assert.Equal(cases.Count, result.Outcomes.Count);
        Assert.Empty(result.Mismatches.Select(m => m.ToString()).Take(10));
        Assert.Contains(result.Outcomes, o => o.ExpectedStatus == 413 && o.ActualStatus == 413);
        Assert.NotEmpty(result.GoodAccepted);
        Assert.Empty(result.GoodFailures);
        Assert.Equal(0, result.SnmpReplies);
        Assert.Equal(cases.Count(c => c.Transport == BadInputTransport.SyslogTcp), result.Sent(BadInputTransport.SyslogTcp));
        Assert.True(Volatile.Read(ref udpCount.Value) > 0 && Volatile.Read(ref snmpCount.Value) > 0);
    }

    private sealed class Counter
    {
        public int Value;
    }

    private static Counter CountDatagramsAsync(Socket socket, CancellationToken ct)
    {
        var counter = new Counter();
        _ = Task.Run(async () =>
        {
            var buffer = new byte[65_536];
            try
            {
                while (true)
                {
                    await socket.ReceiveAsync(buffer, ct);
                    Interlocked.Increment(ref counter.Value);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }, CancellationToken.None);
        return counter;
    }

    private static Counter CountConnectionsAsync(TcpListener listener, CancellationToken ct)
    {
        var counter = new Counter();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var client = await listener.AcceptTcpClientAsync(ct);
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            await client.GetStream().CopyToAsync(Stream.Null, ct);
                        }
                        Interlocked.Increment(ref counter.Value);
                    }, CancellationToken.None);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
            {
            }
        }, CancellationToken.None);
        return counter;
    }

    private static async Task<WebApplication> StartFakeIngestorAsync(BadInputOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.RestMaxBodyBytes);
        var app = builder.Build();
        app.MapPost("/api/v2/ingest", async (HttpRequest request) =>
        {
            if (request.Headers["X-API-KEY"] != ApiKey)
            {
                return Results.StatusCode(401);
            }
            using var buffer = new MemoryStream();
            try
            {
                await request.Body.CopyToAsync(buffer);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == 413)
            {
                return Results.StatusCode(413);
            }
            return Results.StatusCode(RestEventRules.ExpectedStatus(buffer.ToArray(), request.ContentType, options));
        });
        await app.StartAsync();
        return app;
    }
}
