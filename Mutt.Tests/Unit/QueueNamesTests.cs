using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Mutt.Core.Redis;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Unit;

/// <summary>
/// <see cref="QueueNames"/>: spec 004's names by default, bound from spec 004's variables once, names that
/// would mix two flows refused at start, and no service reading a queue name around it.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class QueueNamesTests
{
    [Fact]
    public void Defaults_are_the_spec_004_names()
    {
        var names = new QueueNames();

        Assert.Equal("mutt:ingest_queue", names.IngestQueue);
        Assert.Equal("mutt:alert_queue", names.AlertQueue);
        Assert.Equal("mutt:processing:alerter", names.AlerterProcessingPrefix);
        Assert.Equal("mutt:heartbeat:alerter", names.AlerterHeartbeatPrefix);
        Assert.Equal("mutt:dlq:alerter", names.AlerterDlq);
        Assert.Equal("mutt:processing:moog", names.MoogProcessingPrefix);
        Assert.Equal("mutt:heartbeat:moog", names.MoogHeartbeatPrefix);
        Assert.Equal("mutt:dlq:moog", names.MoogDlq);
        Assert.Equal("mutt:poison:permanent", names.PoisonQueue);
        Assert.Equal(new Dictionary<string, string> { ["alerter"] = "mutt:dlq:alerter", ["moog"] = "mutt:dlq:moog", ["poison"] = "mutt:poison:permanent" },
            names.DeadLetterQueues);
        Assert.Empty(QueueNames.Validate(names));
    }

    [Fact]
    public void Every_name_is_bound_from_its_spec_environment_variable()
    {
        var names = Resolve(new Dictionary<string, string?>
        {
            ["INGEST_QUEUE_NAME"] = "t:in", ["ALERT_QUEUE_NAME"] = "t:out",
            ["ALERTER_PROCESSING_LIST_PREFIX"] = "t:proc:a", ["ALERTER_HEARTBEAT_PREFIX"] = "t:hb:a", ["ALERTER_DLQ_NAME"] = "t:dlq:a",
            ["MOOG_PROCESSING_LIST_PREFIX"] = "t:proc:m", ["MOOG_HEARTBEAT_PREFIX"] = "t:hb:m", ["MOOG_DLQ_NAME"] = "t:dlq:m",
        });

        Assert.Equal(("t:in", "t:out"), (names.IngestQueue, names.AlertQueue));
        Assert.Equal(("t:proc:a", "t:hb:a", "t:dlq:a"), (names.AlerterProcessingPrefix, names.AlerterHeartbeatPrefix, names.AlerterDlq));
        Assert.Equal(("t:proc:m", "t:hb:m", "t:dlq:m"), (names.MoogProcessingPrefix, names.MoogHeartbeatPrefix, names.MoogDlq));
        // A dead letter without its source goes back where its DLQ's producer took it from, under the configured names.
        Assert.Equal("t:in", names.NaturalSourceOf("t:dlq:a"));
        Assert.Equal("t:out", names.NaturalSourceOf("t:dlq:m"));
    }

    [Fact]
    public void The_forwarder_reads_its_source_queue_from_ALERT_QUEUE_NAME_not_the_dropped_MOOG_ALERT_QUEUE()
    {
        var names = Resolve(new Dictionary<string, string?> { ["MOOG_ALERT_QUEUE"] = "t:ignored" });

        Assert.Equal("mutt:alert_queue", names.AlertQueue);
    }

    [Theory]
    [InlineData("ALERT_QUEUE_NAME", "mutt:ingest_queue", "INGEST_QUEUE_NAME and ALERT_QUEUE_NAME are both")]
    [InlineData("MOOG_DLQ_NAME", "mutt:dlq:alerter", "ALERTER_DLQ_NAME and MOOG_DLQ_NAME are both")]
    [InlineData("MOOG_PROCESSING_LIST_PREFIX", "mutt:processing:alerter:moog", "MOOG_PROCESSING_LIST_PREFIX ('mutt:processing:alerter:moog') lies under ALERTER_PROCESSING_LIST_PREFIX")]
    [InlineData("ALERTER_HEARTBEAT_PREFIX", " ", "ALERTER_HEARTBEAT_PREFIX must not be empty")]
    public void Names_that_would_mix_two_flows_stop_the_start(string variable, string value, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new Dictionary<string, string?> { [variable] = value }));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Registering_twice_binds_once()
    {
        var services = new ServiceCollection().AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddQueueNames().AddQueueNames();

        Assert.Single(services, d => d.ServiceType == typeof(QueueNames));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<QueueNames>));
    }

    /// <summary>
    /// The configurable names have one reader. A service that used spec 004's default (a MuttKeys constant) or
    /// bound the variable itself would ignore an override every other service honours.
    /// </summary>
    [Fact]
    public void No_service_reads_a_queue_name_around_QueueNames()
    {
        var offenders = new List<string>();
        foreach (var file in ProductionSources())
        {
            var relative = Path.GetRelativePath(ChildService.RepositoryRoot, file);
            if (relative == Path.Combine("Mutt.Core", "Redis", "QueueNames.cs") || relative == Path.Combine("Mutt.Core", "Redis", "MuttKeys.cs"))
            {
                continue;
            }
            var text = File.ReadAllText(file);
            offenders.AddRange(DefaultConstant().Matches(text).Select(m => $"{relative}: {m.Value}"));
            offenders.AddRange(VariableBinding().Matches(text).Select(m => $"{relative}: {m.Value}"));
            offenders.AddRange(VariableProperty().Matches(text).Select(m => $"{relative}: {m.Value}"));
        }
        Assert.True(offenders.Count == 0, "read QueueNames instead:\n" + string.Join('\n', offenders));
    }

    private static QueueNames Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddQueueNames().BuildServiceProvider();
        return provider.GetRequiredService<QueueNames>();
    }

    private static IEnumerable<string> ProductionSources() =>
        Directory.EnumerateDirectories(ChildService.RepositoryRoot, "Mutt.*")
            .Where(d => Path.GetFileName(d) is not ("Mutt.Tests" or "Mutt.Testing"))
            .SelectMany(d => Directory.EnumerateFiles(d, "*.*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".razor", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [GeneratedRegex(@"MuttKeys\.(IngestQueue|AlertQueue|AlerterProcessingPrefix|AlerterHeartbeatPrefix|AlerterDlq|MoogProcessingPrefix|MoogHeartbeatPrefix|MoogDlq|PoisonPermanent)\b")]
    private static partial Regex DefaultConstant();

    [GeneratedRegex(@"(ConfigurationKeyName\(|configuration\[|Configuration\[|GetValue<string>\()""(INGEST_QUEUE_NAME|ALERT_QUEUE_NAME|ALERTER_PROCESSING_LIST_PREFIX|ALERTER_HEARTBEAT_PREFIX|ALERTER_DLQ_NAME|MOOG_PROCESSING_LIST_PREFIX|MOOG_HEARTBEAT_PREFIX|MOOG_DLQ_NAME|MOOG_ALERT_QUEUE)""")]
    private static partial Regex VariableBinding();

    [GeneratedRegex(@"\bstring\??\s+(INGEST_QUEUE_NAME|ALERT_QUEUE_NAME|ALERTER_PROCESSING_LIST_PREFIX|ALERTER_HEARTBEAT_PREFIX|ALERTER_DLQ_NAME|MOOG_PROCESSING_LIST_PREFIX|MOOG_HEARTBEAT_PREFIX|MOOG_DLQ_NAME|MOOG_ALERT_QUEUE)\s*\{")]
    private static partial Regex VariableProperty();
}
