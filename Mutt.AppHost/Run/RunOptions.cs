using Microsoft.Extensions.Configuration;

namespace Mutt.AppHost.Run;

public sealed class RunOptions
{
    /// <summary>Data, logs, parameters.json and endpoints.json. Default: <c>&lt;repo&gt;/.mutt</c>.</summary>
    public string? StateDir { get; init; }

    /// <summary>Ignore the spec's ports and take free ones (tests, parallel runs).</summary>
    public bool UseFreePorts { get; init; }

    /// <summary>Load the sample rules, dev hosts and teams after migrating.</summary>
    public bool Seed { get; init; } = true;

    /// <summary>Write prefixed service output to the console as well as to the log files.</summary>
    public bool StreamLogs { get; init; }

    /// <summary>Source of <c>Parameters:&lt;name&gt;</c> and of overrides such as <c>Projects:&lt;name&gt;:Assembly</c>. Default: environment variables.</summary>
    public IConfiguration? Configuration { get; init; }

    public string? RepositoryRoot { get; init; }
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Turn off PostgreSQL's fsync (tests only).</summary>
    public bool FastAndLoosePostgres { get; init; }

    /// <summary>AppHost's own messages (start, restarts, stops). Default: console.</summary>
    public Action<string>? Log { get; init; }
}
