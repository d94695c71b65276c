using Npgsql;
using NpgsqlTypes;

namespace Mutt.Alerter.Audit;

/// <summary>
/// One row of <c>event_audit_log</c>. <see cref="EventTimestamp"/> must be UTC (timestamptz).
/// <see cref="RawMessageUtf8"/> is the queue item's JSON as received (UTF-8): it goes to the jsonb
/// column as is, never decoded and re-encoded on the hot path.
/// </summary>
public sealed record AuditRow(
    DateTime EventTimestamp,
    string Hostname,
    int? MatchedRuleId,
    string HandlingDecision,
    bool ForwardedToMoog,
    string CorrelationId,
    ReadOnlyMemory<byte> RawMessageUtf8)
{
    public AuditRow(DateTime eventTimestamp, string hostname, int? matchedRuleId, string handlingDecision, bool forwardedToMoog,
        string correlationId, string rawMessage)
        : this(eventTimestamp, hostname, matchedRuleId, handlingDecision, forwardedToMoog, correlationId,
            (ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes(rawMessage))
    {
    }

    public string RawMessage => System.Text.Encoding.UTF8.GetString(RawMessageUtf8.Span);

    /// <summary>Deduplicated: the repeat number in the window; Flapping: the transitions counted (migration 005).</summary>
    public int? DecisionCount { get; init; }
    /// <summary>Suppressed_maintenance: the window that suppressed the event.</summary>
    public int? MaintenanceWindowId { get; init; }
    /// <summary>Flapping: the correlation rule that saw the interface flap.</summary>
    public int? CorrelationRuleId { get; init; }
}

/// <summary>
/// Writes audit rows idempotently at COPY speed. First, optimistically, one binary COPY straight
/// into <c>event_audit_log</c> in its own transaction: a batch with no replayed row (the normal
/// case) costs just that. The unique index on (correlation_id, event_timestamp) refuses a batch
/// holding a row already written (a replay after a crash or a returned lease) or the same row
/// twice: that transaction rolls back whole and the batch goes the idempotent way, a binary COPY
/// into a temporary staging table emptied at commit, then one INSERT ... SELECT ... ON CONFLICT
/// (correlation_id, event_timestamp) DO NOTHING. Either way exactly one row per
/// (correlation_id, event_timestamp), each batch all or nothing.
/// </summary>
public sealed class AuditWriter(NpgsqlDataSource dataSource, int connections = 1) : IAsyncDisposable
{
    private const string CreateStage =
        "CREATE TEMP TABLE mutt_audit_stage (event_timestamp timestamptz NOT NULL, hostname text NOT NULL, " +
        "matched_rule_id integer, handling_decision text NOT NULL, forwarded_to_moog boolean NOT NULL, " +
        "correlation_id text NOT NULL, raw_message jsonb NOT NULL, decision_count integer, maintenance_window_id integer, " +
        "correlation_rule_id integer) ON COMMIT DELETE ROWS";

    private const string CopyStage =
        "COPY mutt_audit_stage (" + Columns + ") FROM STDIN (FORMAT BINARY)";

    private const string CopyDirect =
        "COPY event_audit_log (" + Columns + ") FROM STDIN (FORMAT BINARY)";

    private const string MergeStage =
        "INSERT INTO event_audit_log (" + Columns + ") SELECT " + Columns + " FROM mutt_audit_stage " +
        "ON CONFLICT (correlation_id, event_timestamp) DO NOTHING";

    private const string Columns =
        "event_timestamp, hostname, matched_rule_id, handling_decision, forwarded_to_moog, correlation_id, raw_message, " +
        "decision_count, maintenance_window_id, correlation_rule_id";

    /// <summary>At most <c>connections</c> writes at once, each on its own long-lived connection.</summary>
    private readonly SemaphoreSlim _gate = new(Math.Max(1, connections), Math.Max(1, connections));
    private readonly System.Collections.Concurrent.ConcurrentStack<NpgsqlConnection> _idle = new();
    private long _idempotentWrites;

    /// <summary>Batches the direct COPY refused for a row already there (or repeated), written the idempotent way instead.</summary>
    public long IdempotentWrites => Interlocked.Read(ref _idempotentWrites);

    /// <summary>
    /// Writes the rows in one transaction; returns how many were new (the rest were replays).
    /// Long-lived connections (up to the writer's count, one per concurrent write) keep their
    /// staging table (ON COMMIT DELETE ROWS) across batches: creating a temp table per batch, or a
    /// pooled connection's reset dropping it, costs more than the COPY of a small batch. Any failure
    /// discards the connection; the next call opens another.
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        NpgsqlConnection? connection = null;
        try
        {
            if (!_idle.TryPop(out connection))
            {
                connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            var written = await WriteOnAsync(connection, rows, cancellationToken).ConfigureAwait(false);
            _idle.Push(connection);
            connection = null;
            return written;
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            _gate.Release();
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var create = new NpgsqlCommand(CreateStage, connection);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<int> WriteOnAsync(NpgsqlConnection connection, IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken)
    {
        await using (var direct = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await CopyAsync(connection, CopyDirect, rows, cancellationToken).ConfigureAwait(false);
                await direct.CommitAsync(cancellationToken).ConfigureAwait(false);
                return rows.Count;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // A row is already audited (a replay) or repeated in the batch: nothing of the COPY stays.
                await direct.RollbackAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        Interlocked.Increment(ref _idempotentWrites);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await CopyAsync(connection, CopyStage, rows, cancellationToken).ConfigureAwait(false);
        int inserted;
        await using (var merge = new NpgsqlCommand(MergeStage, connection, transaction))
        {
            inserted = await merge.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return inserted;
    }

    private static async Task CopyAsync(NpgsqlConnection connection, string copy, IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken)
    {
        using (var importer = await connection.BeginBinaryImportAsync(copy, cancellationToken).ConfigureAwait(false))
        {
            // Synchronous writes: they only fill Npgsql's buffer (flushing now and then), and the
            // per-value async state machines cost more CPU than the COPY itself on this hot path.
            foreach (var row in rows)
            {
                importer.StartRow();
                importer.Write(DateTime.SpecifyKind(row.EventTimestamp, DateTimeKind.Utc), NpgsqlDbType.TimestampTz);
                importer.Write(PostgresText.Safe(row.Hostname), NpgsqlDbType.Text);
                WriteNullable(importer, row.MatchedRuleId);
                importer.Write(row.HandlingDecision, NpgsqlDbType.Text);
                importer.Write(row.ForwardedToMoog, NpgsqlDbType.Boolean);
                importer.Write(PostgresText.Safe(row.CorrelationId), NpgsqlDbType.Text);
                importer.Write(PostgresText.SafeJson(row.RawMessageUtf8), NpgsqlDbType.Jsonb);
                WriteNullable(importer, row.DecisionCount);
                WriteNullable(importer, row.MaintenanceWindowId);
                WriteNullable(importer, row.CorrelationRuleId);
            }
            // Without Complete the importer's dispose cancels the COPY and nothing is written.
            await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static void WriteNullable(NpgsqlBinaryImporter importer, int? value)
    {
        if (value is { } v)
        {
            importer.Write(v, NpgsqlDbType.Integer);
        }
        else
        {
            importer.WriteNull();
        }
    }

    /// <summary>
    /// True when the failure says "the database is unreachable or unavailable right now"
    /// (retry the same batch later), false when the data itself was refused (a bad row).
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException pg => pg.IsTransient
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal)   // connection exception
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)   // insufficient resources
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal), // admin/crash shutdown, cannot connect now
        NpgsqlException => true,
        TimeoutException or System.Net.Sockets.SocketException or IOException => true,
        InvalidOperationException { InnerException: { } inner } => IsTransient(inner),
        _ => false,
    };

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryPop(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        _gate.Dispose();
    }
}
