using System.Diagnostics;
using Microsoft.Extensions.Options;
using Mutt.Core.DeadLetters;

namespace Mutt.Remediation.Services;

public sealed record ScanResult(int Replayed, int Poisoned, int Waiting, int HeldByCircuit);

/// <summary>One pass over the Alerter's and the Forwarder's DLQs (mutt:dlq:alerter, mutt:dlq:moog unless renamed) applying <see cref="DeadLetterPolicy"/>.</summary>
public sealed class DlqScanner(DeadLetterOperations operations, RemediationMetrics metrics, IOptions<RemediationOptions> options, ILogger<DlqScanner> logger)
{
    public const int MaxPerScan = 1000;
    private readonly RemediationOptions _o = options.Value;

    public async Task<ScanResult> ScanAsync(CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        int replayed = 0, poisoned = 0, waiting = 0, held = 0;
        foreach (var (dlq, source) in new[] { (operations.Names.AlerterDlq, "alerter"), (operations.Names.MoogDlq, "moog") })
        {
            foreach (var entry in await operations.ListAsync(dlq, MaxPerScan))
            {
                ct.ThrowIfCancellationRequested();
                var history = await operations.HistoryAsync(entry.Letter.Payload);
                var attempts = Math.Max(entry.Letter.ReplayCount, history.Count);
                var decision = DeadLetterPolicy.Decide(entry.Letter, attempts, DateTimeOffset.UtcNow, _o.MaxRetries, TimeSpan.FromSeconds(_o.BackoffBaseSeconds));
                switch (decision.Action)
                {
                    case RemediationAction.Poison:
                        if (await operations.PoisonAsync(dlq, entry, decision.Why))
                        {
                            poisoned++;
                            metrics.Replay(source, "poison");
                            logger.LogWarning("DLQ {Dlq} entry {Id} moved to {Poison}: {Why}", dlq, entry.Letter.Id, operations.Names.PoisonQueue, decision.Why);
                        }
                        break;
                    case RemediationAction.Wait:
                        waiting++;
                        if (entry.Letter.NextReplayAt is null)
                        {
                            entry.Letter.NextReplayAt = decision.NextReplayAt;
                            entry.Letter.ReplayCount = attempts;
                            await operations.RewriteAsync(dlq, entry);
                        }
                        break;
                    default:
                        var outcome = await operations.ReplayEntryAsync(dlq, entry, "remediation");
                        if (outcome == ReplayOutcome.Replayed)
                        {
                            replayed++;
                            metrics.Replay(source, "success");
                            logger.LogInformation("Replayed DLQ {Dlq} entry {Id} ({Why})", dlq, entry.Letter.Id, decision.Why);
                        }
                        else if (outcome == ReplayOutcome.CircuitOpen)
                        {
                            held++;
                        }
                        else
                        {
                            metrics.Replay(source, "fail");
                        }
                        break;
                }
            }
        }
        Volatile.Write(ref metrics.PoisonDepth, await operations.CountAsync(operations.Names.PoisonQueue));
        metrics.ScanDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (held > 0)
        {
            logger.LogInformation("Held {Count} Moogsoft DLQ entries: the circuit is OPEN", held);
        }
        return new ScanResult(replayed, poisoned, waiting, held);
    }
}
