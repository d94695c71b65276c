using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Mutt.Tests.Reliability;

public sealed class BadInputRunnerOptions
{
    public required Uri IngestorBaseUrl { get; init; }
    public required string ApiKey { get; init; }
    public string IngestPath { get; init; } = "/api/v2/ingest";
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Listener ports; a null port skips that transport's cases (reported as skipped).</summary>
    public int? SyslogUdpPort { get; init; }
    public int? SyslogTcpPort { get; init; }
    public int? SnmpPort { get; init; }

    public int Concurrency { get; init; } = 4;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Run a loop of valid single-event POSTs while the bad cases are sent.</summary>
    public bool GoodTraffic { get; init; } = true;

    /// <summary>After the last case, how long to keep listening for (forbidden) SNMP replies.</summary>
    public TimeSpan SnmpReplyWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>UDP datagrams sent back to back before yielding, so the kernel's receive buffer is not the thing under test.</summary>
    public int UdpBurst { get; init; } = 64;
}

/// <summary>What happened to one case. For listener cases there is no per-message answer: "as expected" means
/// it was delivered to the socket; the caller checks the listener's counters and the queue afterwards.</summary>
public sealed record BadInputOutcome(
    int CaseId,
    string Category,
    BadInputTransport Transport,
    Expectation Expected,
    int? ExpectedStatus,
    int? ActualStatus,
    string? Error,
    bool Skipped,
    string Description)
{
    public bool AsExpected => !Skipped && Error is null && ActualStatus == ExpectedStatus;

    public override string ToString() =>
        $"#{CaseId} {Category}/{Transport} {Description}: expected {ExpectedStatus?.ToString() ?? Expected.ToString()}, got {ActualStatus?.ToString() ?? Error ?? "sent"}";
}

public sealed class BadInputRunResult
{
    public required IReadOnlyList<BadInputOutcome> Outcomes { get; init; }

    /// <summary>Correlation ids of good events the Ingestor answered 202: each must reach the audit log.</summary>
    public required IReadOnlyList<string> GoodAccepted { get; init; }

    /// <summary>Good events not answered 202 (status or error text); expected to be empty.</summary>
    public required IReadOnlyList<string> GoodFailures { get; init; }

    /// <summary>Datagrams that came back to the SNMP sender; garbage must get none.</summary>
    public required int SnmpReplies { get; init; }

    public required TimeSpan Elapsed { get; init; }

    public IEnumerable<BadInputOutcome> Mismatches => Outcomes.Where(o => !o.Skipped && !o.AsExpected);

    public int Sent(BadInputTransport transport) => Outcomes.Count(o => o.Transport == transport && !o.Skipped && o.Error is null);
}

/// <summary>
/// Sends bad-input cases to a running Ingestor (REST, syslog UDP/TCP, SNMP) while a loop of good events
/// flows, and reports each case's outcome. Pure client: it starts nothing and needs no access to the services.
/// </summary>
public sealed class BadInputRunner(BadInputRunnerOptions options)
{
    public async Task<BadInputRunResult> RunAsync(IEnumerable<BadInputCase> cases, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Concurrency + 2 })
        {
            BaseAddress = options.IngestorBaseUrl,
            Timeout = options.RequestTimeout,
        };
        using var syslogUdp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var snmp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        snmp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var host = IPAddress.Parse(options.Host);
        var snmpReplies = 0;
        using var stopListening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var replyListener = Task.Run(async () =>
        {
            var buffer = new byte[65_536];
            try
            {
                while (true)
                {
                    await snmp.ReceiveAsync(buffer, stopListening.Token);
                    Interlocked.Increment(ref snmpReplies);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped, or ICMP port unreachable reflected as a socket error: not a reply.
            }
        }, CancellationToken.None);

        var goodAccepted = new ConcurrentBag<string>();
        var goodFailures = new ConcurrentBag<string>();
        using var stopGood = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var goodLoop = options.GoodTraffic ? Task.Run(() => GoodTrafficAsync(http, goodAccepted, goodFailures, stopGood.Token), CancellationToken.None) : Task.CompletedTask;

        var outcomes = new ConcurrentBag<BadInputOutcome>();
        var udpSent = 0;
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken },
            async (c, ct) =>
            {
                int? status = null;
                string? error = null;
                var skipped = false;
                try
                {
                    switch (c.Transport)
                    {
                        case BadInputTransport.Rest:
                            status = await PostAsync(http, c.Payload, c.ContentType, ct);
                            break;
                        case BadInputTransport.SyslogUdp when options.SyslogUdpPort is { } udpPort:
                            await syslogUdp.SendToAsync(c.Payload, new IPEndPoint(host, udpPort), ct);
                            await PaceUdpAsync(ref udpSent);
                            break;
                        case BadInputTransport.SyslogTcp when options.SyslogTcpPort is { } tcpPort:
                            await SendTcpAsync(host, tcpPort, c.Payload, ct);
                            break;
                        case BadInputTransport.Snmp when options.SnmpPort is { } snmpPort:
                            await snmp.SendToAsync(c.Payload, new IPEndPoint(host, snmpPort), ct);
                            await PaceUdpAsync(ref udpSent);
                            break;
                        default:
                            skipped = true;
                            break;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException or TaskCanceledException)
                {
                    error = ex.GetType().Name + ": " + ex.Message;
                }
                outcomes.Add(new BadInputOutcome(c.Id, c.Category, c.Transport, c.Expected, c.ExpectedStatus, status, error, skipped, c.Description));
            });

        await stopGood.CancelAsync();
        await goodLoop;
        try
        {
            await Task.Delay(options.SnmpReplyWindow, cancellationToken);
        }
        finally
        {
            await stopListening.CancelAsync();
            await replyListener;
        }
        return new BadInputRunResult
        {
            Outcomes = outcomes.OrderBy(o => o.CaseId).ToList(),
            GoodAccepted = goodAccepted.ToList(),
            GoodFailures = goodFailures.ToList(),
            SnmpReplies = snmpReplies,
            Elapsed = stopwatch.Elapsed,
        };
    }

    private Task PaceUdpAsync(ref int sent) =>
        Interlocked.Increment(ref sent) % options.UdpBurst == 0 ? Task.Delay(1) : Task.CompletedTask;

    private async Task<int> PostAsync(HttpClient http, byte[] body, string? contentType, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, options.IngestPath) { Content = new ByteArrayContent(body) };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        request.Headers.Add("X-API-KEY", options.ApiKey);
        // Lets the server answer 413 from the headers alone instead of racing a half-sent body.
        request.Headers.ExpectContinue = body.Length > 64 * 1024;
        using var response = await http.SendAsync(request, ct);
        return (int)response.StatusCode;
    }

    private static async Task SendTcpAsync(IPAddress host, int port, byte[] payload, CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, ct);
        var stream = client.GetStream();
        await stream.WriteAsync(payload, ct);
        await stream.FlushAsync(ct);
        // Half-close: the listener sees end-of-stream right after the frame (what makes "count larger than data" a truncation).
        client.Client.Shutdown(SocketShutdown.Send);
    }

    private async Task GoodTrafficAsync(HttpClient http, ConcurrentBag<string> accepted, ConcurrentBag<string> failures, CancellationToken ct)
    {
        var random = new Random(42);
        while (!ct.IsCancellationRequested)
        {
            var correlationId = Guid.NewGuid().ToString();
            try
            {
                var status = await PostAsync(http, Encoding.UTF8.GetBytes(BadInputGenerator.GoodEventJson(random, correlationId)), "application/json", ct);
                if (status == 202)
                {
                    accepted.Add(correlationId);
                }
                else
                {
                    failures.Add($"{correlationId}: HTTP {status}");
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The request was cut by the end of the run: neither accepted nor refused.
                break;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                failures.Add($"{correlationId}: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }
}
