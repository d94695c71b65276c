using Mutt.Core.DeadLetters;
using Mutt.Core.Events;
using Mutt.Core.Redis;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RemediationPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(60);

    [Fact]
    public void Backoff_is_base_times_attempt()
    {
        var letter = new DeadLetter { Reason = "max_retries", HttpStatus = 503, FailedAt = T0 };
        Assert.Equal(RemediationAction.Wait, DeadLetterPolicy.Decide(letter, 0, T0.AddSeconds(59), 3, Base).Action);
        Assert.Equal(RemediationAction.Replay, DeadLetterPolicy.Decide(letter, 0, T0.AddSeconds(60), 3, Base).Action);
        Assert.Equal(T0.AddSeconds(120), DeadLetterPolicy.Decide(letter, 1, T0, 3, Base).NextReplayAt);
        Assert.Equal(T0.AddSeconds(180), DeadLetterPolicy.Decide(letter, 2, T0, 3, Base).NextReplayAt);
    }

    [Fact]
    public void Gives_up_after_max_retries()
    {
        var letter = new DeadLetter { Reason = "max_retries", FailedAt = T0 };
        Assert.Equal(RemediationAction.Poison, DeadLetterPolicy.Decide(letter, 3, T0.AddDays(1), 3, Base).Action);
    }

    [Fact]
    public void Shed_events_are_replayed_with_backoff_and_never_poisoned()
    {
        var letter = new DeadLetter { Reason = DeadLetterPolicy.ShedReason, FailedAt = T0 };
        Assert.Equal(RemediationAction.Replay, DeadLetterPolicy.Decide(letter, 3, T0.AddDays(1), 3, Base).Action);
        Assert.Equal(RemediationAction.Replay, DeadLetterPolicy.Decide(letter, 50, T0.AddDays(1), 3, Base).Action);
        Assert.Equal(RemediationAction.Wait, DeadLetterPolicy.Decide(letter, 50, T0.AddSeconds(599), 3, Base).Action);
    }

    [Theory]
    [InlineData("invalid_json", null)]
    [InlineData("http_4xx", 400)]
    [InlineData("other", 422)]
    public void Permanent_causes_are_poisoned_at_once(string reason, int? status) =>
        Assert.Equal(RemediationAction.Poison, DeadLetterPolicy.Decide(new DeadLetter { Reason = reason, HttpStatus = status, FailedAt = T0 }, 0, T0, 3, Base).Action);

    [Theory]
    [InlineData(429)]
    [InlineData(408)]
    [InlineData(500)]
    public void Transient_statuses_are_replayed(int status) =>
        Assert.False(DeadLetterPolicy.IsPermanent(new DeadLetter { Reason = "max_retries", HttpStatus = status }));

    [Fact]
    public void Replay_target_is_the_source_queue_or_the_dlqs_natural_source()
    {
        Assert.Equal("q", DeadLetterPolicy.TargetQueue(new DeadLetter { SourceQueue = "q" }, MuttKeys.MoogDlq, new QueueNames()));
        Assert.Equal(MuttKeys.IngestQueue, DeadLetterPolicy.TargetQueue(new DeadLetter(), MuttKeys.AlerterDlq, new QueueNames()));
        Assert.Equal(MuttKeys.AlertQueue, DeadLetterPolicy.TargetQueue(new DeadLetter(), MuttKeys.MoogDlq, new QueueNames()));
    }

    [Fact]
    public void Replay_resets_retry_count_and_keeps_the_rest()
    {
        var replayed = DeadLetterOperations.ResetRetryCount("""{"message":"m","retry_count":4,"x":[1]}""");
        Assert.Equal("""{"message":"m","retry_count":0,"x":[1]}""", replayed);
        Assert.Equal("not json", DeadLetterOperations.ResetRetryCount("not json"));
    }
}
