using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Mutt.Tests.Integration;

/// <summary>Captures every formatted log line (with exception text) so tests can scan it for secret values.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public ILoggerFactory CreateFactory() => LoggerFactory.Create(b => b.AddProvider(this).SetMinimumLevel(LogLevel.Trace));

    public ILogger<T> Logger<T>() => CreateFactory().CreateLogger<T>();

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            owner.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}

/// <summary>A secret store whose values the test sets (as a Vault rotation would change them).</summary>
public sealed class FixedSecretStore : Mutt.Core.Secrets.SecretStoreBase
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public FixedSecretStore(params (string Name, string Value)[] values)
    {
        foreach (var (name, value) in values)
        {
            _values[name] = value;
        }
        Replace(_values);
    }

    public void Set(string name, string value)
    {
        _values[name] = value;
        Replace(new Dictionary<string, string>(_values));
    }

    public override Task RefreshAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}
