using System.Security.Cryptography;

namespace Mutt.Core.Auth;

/// <summary>An active key as loaded from <c>api_keys</c>.</summary>
public sealed record ApiKeyRecord(int Id, string Name, string Prefix, byte[] Hash, string Role);

/// <summary>Who a presented key is: its name (the audit trail's and the metrics' label) and role.</summary>
public sealed record ApiKeyIdentity(string Name, string Role);

/// <summary>
/// The active named keys of one service, in memory: a lookup by the key's public prefix, then a
/// constant-time comparison of SHA-256 hashes, so a check costs one hash and one dictionary probe
/// (no database, no allocation). An unknown prefix is compared against a dummy hash, so the time
/// does not tell a known prefix from an unknown one. <see cref="ApiKeyRingRefresher"/> replaces the
/// whole set every few seconds (and at once when the Dashboard announces a change), which is how a
/// revocation reaches every replica. Last use is stamped here and written back by the refresher.
/// </summary>
public sealed class ApiKeyRing
{
    private static readonly Entry Dummy = new(new ApiKeyRecord(0, "", "", new byte[SHA256.HashSizeInBytes], ""));
    private volatile Snapshot _snapshot = new([]);

    /// <summary>How many active keys are loaded.</summary>
    public int Count => _snapshot.Entries.Count;

    /// <summary>True once a load from the database succeeded (until then only legacy keys work).</summary>
    public bool Loaded { get; private set; }

    /// <summary>The names of the loaded keys.</summary>
    public IReadOnlyList<string> Names => [.. _snapshot.Entries.Values.Select(e => e.Record.Name)];

    /// <summary>After each <see cref="Replace"/>: a new key's metric series can be made before its first request.</summary>
    public event Action? Replaced;

    /// <summary>The identity of <paramref name="presented"/>, or null; <paramref name="hash"/> is its SHA-256 when the caller has it already.</summary>
    public ApiKeyIdentity? Find(ReadOnlySpan<char> presented, ReadOnlySpan<byte> hash = default)
    {
        if (!ApiKeySecret.TryGetPrefix(presented, out var prefix))
        {
            return null;
        }
        var snapshot = _snapshot;
        var found = snapshot.ByPrefix.TryGetValue(prefix, out var entry);
        entry = found ? entry! : Dummy;
        Span<byte> computed = stackalloc byte[SHA256.HashSizeInBytes];
        if (hash.Length == SHA256.HashSizeInBytes)
        {
            hash.CopyTo(computed);
        }
        else
        {
            ApiKeySecret.Hash(presented, computed);
        }
        if (!CryptographicOperations.FixedTimeEquals(computed, entry.Record.Hash) || !found)
        {
            return null;
        }
        entry.Touch();
        return entry.Identity;
    }

    /// <summary>Replaces the active set; keys that stay keep their unsaved last-use stamps.</summary>
    public void Replace(IEnumerable<ApiKeyRecord> records)
    {
        var old = _snapshot.Entries;
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            var entry = new Entry(record);
            if (old.TryGetValue(record.Prefix, out var previous) && previous.Record.Id == record.Id)
            {
                entry.CarryOver(previous);
            }
            entries[record.Prefix] = entry;
        }
        _snapshot = new Snapshot(entries);
        Loaded = true;
        Replaced?.Invoke();
    }

    /// <summary>Keys used since the last call, with the time of their last use (to be written to last_used_at).</summary>
    public IReadOnlyList<(int Id, DateTime LastUsedUtc)> TakeUsage()
    {
        var used = new List<(int, DateTime)>();
        foreach (var entry in _snapshot.Entries.Values)
        {
            if (entry.TakeUsage() is { } at)
            {
                used.Add((entry.Record.Id, at));
            }
        }
        return used;
    }

    private sealed class Snapshot
    {
        public Snapshot(Dictionary<string, Entry> entries)
        {
            Entries = entries;
            ByPrefix = entries.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public Dictionary<string, Entry> Entries { get; }
        public Dictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> ByPrefix { get; }
    }

    private sealed class Entry(ApiKeyRecord record)
    {
        private long _lastUsedTicks;
        private long _savedTicks;

        public ApiKeyRecord Record { get; } = record;
        public ApiKeyIdentity Identity { get; } = new(record.Name, record.Role);

        /// <summary>At most one write a second: at tens of thousands of requests a second the stamp must not bounce a cache line between cores.</summary>
        public void Touch()
        {
            var now = DateTime.UtcNow.Ticks;
            if (now - Volatile.Read(ref _lastUsedTicks) > TimeSpan.TicksPerSecond)
            {
                Volatile.Write(ref _lastUsedTicks, now);
            }
        }

        public DateTime? TakeUsage()
        {
            var last = Volatile.Read(ref _lastUsedTicks);
            if (last == 0 || last == Interlocked.Exchange(ref _savedTicks, last))
            {
                return null;
            }
            return new DateTime(last, DateTimeKind.Utc);
        }

        public void CarryOver(Entry previous)
        {
            _lastUsedTicks = Volatile.Read(ref previous._lastUsedTicks);
            _savedTicks = Volatile.Read(ref previous._savedTicks);
        }
    }
}
