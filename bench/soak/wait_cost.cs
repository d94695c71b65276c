#:package StackExchange.Redis
#:property PublishAot=false
// Cost of the durable ack (INGEST_WAIT_REPLICAS): LPUSH of a 100-event batch with and without `WAIT 1`,
// against a master with one replica. Usage: dotnet run bench/soak/wait_cost.cs -- MASTER_PORT [seconds] [concurrency]
using System.Diagnostics;
using StackExchange.Redis;

var port = int.Parse(args[0]);
var seconds = args.Length > 1 ? int.Parse(args[1]) : 10;
var concurrency = args.Length > 2 ? int.Parse(args[2]) : 16;
var batch = Enumerable.Range(0, 100).Select(i => (RedisValue)("{\"message\":\"event " + i + "\",\"hostname\":\"h\",\"timestamp\":\"2024-06-01T00:00:00Z\"}")).ToArray();
using var mux = ConnectionMultiplexer.Connect($"127.0.0.1:{port}");

foreach (var wait in new[] { false, true })
{
    var db = mux.GetDatabase();
    await db.KeyDeleteAsync("bench:wait");
    long requests = 0, short_ = 0;
    var latencies = new List<double>();
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        var local = new List<double>();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            var t = Stopwatch.GetTimestamp();
            await db.ListLeftPushAsync("bench:wait", batch);
            if (wait && (long)await db.ExecuteAsync("WAIT", 1, 1000) < 1) { Interlocked.Increment(ref short_); }
            local.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            Interlocked.Increment(ref requests);
            if (local.Count % 200 == 0) { await db.ListTrimAsync("bench:wait", 0, 10_000); }
        }
        lock (latencies) { latencies.AddRange(local); }
    }));
    latencies.Sort();
    Console.WriteLine($"wait={wait,-5} requests/s={requests / sw.Elapsed.TotalSeconds,8:F0} events/s={requests * 100 / sw.Elapsed.TotalSeconds,9:F0} " +
        $"p50={latencies[latencies.Count / 2]:F2}ms p99={latencies[(int)(latencies.Count * 0.99)]:F2}ms not-acked={short_}");
}
