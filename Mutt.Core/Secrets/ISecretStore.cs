using Microsoft.Extensions.Primitives;

namespace Mutt.Core.Secrets;

/// <summary>
/// Where services read their secrets (API keys, Redis and PostgreSQL passwords). Values can change
/// while the process runs (Vault rotation); read them at use, or watch <see cref="GetChangeToken"/>.
/// Never log a value read from here.
/// </summary>
public interface ISecretStore
{
    /// <summary>The current value, or null when the secret is not set (an empty value counts as not set).</summary>
    string? Get(string name);

    /// <summary>A token that fires once after any secret value changed; take a new one after it fires.</summary>
    IChangeToken GetChangeToken();

    /// <summary>Re-reads the source now (Vault: KV read; configuration: a no-op).</summary>
    Task RefreshAsync(CancellationToken cancellationToken = default);
}

/// <summary>Keeps the values and the change token; both stores share it.</summary>
public abstract class SecretStoreBase : ISecretStore
{
    private readonly object _gate = new();
    private IReadOnlyDictionary<string, string> _values = new Dictionary<string, string>(StringComparer.Ordinal);
    private CancellationTokenSource _changed = new();

    public string? Get(string name)
    {
        return Volatile.Read(ref _values).TryGetValue(name, out var value) && value.Length > 0 ? value : null;
    }

    public IChangeToken GetChangeToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public abstract Task RefreshAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the values; fires the change token when any value differs. Returns the changed names.</summary>
    protected IReadOnlyList<string> Replace(IReadOnlyDictionary<string, string> values)
    {
        CancellationTokenSource? fire = null;
        List<string> changed;
        lock (_gate)
        {
            var old = _values;
            changed = values.Keys.Union(old.Keys)
                .Where(k => !string.Equals(old.GetValueOrDefault(k), values.GetValueOrDefault(k), StringComparison.Ordinal))
                .ToList();
            Volatile.Write(ref _values, new Dictionary<string, string>(values, StringComparer.Ordinal));
            if (changed.Count > 0)
            {
                fire = _changed;
                _changed = new CancellationTokenSource();
            }
        }
        fire?.Cancel();
        fire?.Dispose();
        return changed;
    }
}
