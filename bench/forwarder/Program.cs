// Forwarder throughput: one Forwarder (Release) drains N alerts into a MoogSink that answers at
// once, batches of 100, rate limit out of the way. Prints alerts/s measured at the sink, from
// the first delivered event to the last.
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mutt.Testing;
using Mutt.Core.Events;
using Mutt.Core.Redis;
using StackExchange.Redis;

var total = args.Length > 0 ? int.Parse(args[0]) : 300_000;
var root = ServiceProcess.FindRepositoryRoot();
var state = Path.Combine(Path.GetTempPath(), "mutt-bench-forwarder-" + Environment.ProcessId);
await using var redis = await RedisServer.StartAsync(Path.Combine(state, "redis"), appendOnly: false);
using var mux = ConnectionMultiplexer.Connect(redis.ConnectionString);
var db = mux.GetDatabase();

var sinkUrl = $"http://127.0.0.1:{NativeProcess.FreeTcpPort()}";
await using var sink = ServiceProcess.Start("moog-sink", ServiceProcess.AssemblyPath(root, "Mutt.MoogSink"),
    new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = sinkUrl, ["LOG_LEVEL"] = "Warning" });
await sink.WaitForHealthyAsync(sinkUrl + "/health", TimeSpan.FromSeconds(60));

Console.WriteLine($"pushing {total} alerts");
var now = DateTimeOffset.UtcNow;
var batch = new RedisValue[1000];
for (var i = 0; i < total; i += batch.Length)
{
    var n = Math.Min(batch.Length, total - i);
    for (var j = 0; j < n; j++)
    {
        var alert = new AlertMessage
        {
            CorrelationId = $"bench-{i + j}", Hostname = $"host-{(i + j) % 500}", Message = "Interface GigabitEthernet0/1 changed state to down",
            SyslogSeverity = 3, Team = "netops", Handling = "Ticket_only", RuleId = 12, EventTimestamp = now,
        };
        batch[j] = JsonSerializer.Serialize(alert, MuttJsonContext.Default.AlertMessage);
    }
    await db.ListLeftPushAsync(MuttKeys.AlertQueue, n == batch.Length ? batch : batch[..n]);
}

var forwarderUrl = $"http://127.0.0.1:{NativeProcess.FreeTcpPort()}";
await using var forwarder = ServiceProcess.Start("forwarder", ServiceProcess.AssemblyPath(root, "Mutt.Forwarder"), new Dictionary<string, string?>
{
    ["ASPNETCORE_URLS"] = forwarderUrl,
    ["ConnectionStrings__redis"] = redis.ConnectionString,
    ["services__moog-sink__http__0"] = sinkUrl,
    ["POD_NAME"] = "bench-forwarder",
    ["MOOG_RATE_LIMIT"] = "1000000",
    ["LOG_LEVEL"] = "Warning",
});

using var http = new HttpClient();
DateTime? first = null;
long events = 0;
var deadline = Stopwatch.StartNew();
while (events < total && deadline.Elapsed < TimeSpan.FromSeconds(50))
{
    await Task.Delay(50);
    try
    {
        events = (await http.GetFromJsonAsync<JsonElement>(sinkUrl + "/sink/stats")).GetProperty("events").GetInt64();
    }
    catch (HttpRequestException)
    {
        continue;
    }
    if (events > 0 && first is null)
    {
        first = DateTime.UtcNow;
    }
}
var elapsed = DateTime.UtcNow - (first ?? DateTime.UtcNow);
var stats = await http.GetFromJsonAsync<JsonElement>(sinkUrl + "/sink/stats");
Console.WriteLine($"delivered {events}/{total} alerts in {elapsed.TotalSeconds:F2} s = {events / Math.Max(elapsed.TotalSeconds, 0.001):F0} alerts/s");
Console.WriteLine($"sink stats: {stats}");
await forwarder.StopAsync();
await sink.StopAsync();
await redis.StopAsync();
try { Directory.Delete(state, recursive: true); } catch (IOException) { }
return events >= total ? 0 : 1;
