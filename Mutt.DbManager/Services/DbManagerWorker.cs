using Mutt.DbManager.Database;

namespace Mutt.DbManager.Services;

/// <summary>
/// Runs <see cref="DatabaseInitializer"/> (or, for <c>restore</c>, <see cref="ArchiveRestorer"/>) once, sets the process exit code and stops the host:
/// the DbManager is a Job, not a service. A failure ends in one error line with its reason (the
/// stack trace only at Debug level).
/// </summary>
public sealed class DbManagerWorker(DbManagerCommand command, DatabaseInitializer initializer, ArchiveRestorer restorer, IHostApplicationLifetime lifetime, ILogger<DbManagerWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            switch (command)
            {
                case { Error: { } error }:
                    throw new DbManagerFailure(DbManagerExitCode.InvalidConfiguration, error);
                case { Verb: DbManagerCommand.Restore }:
                    await restorer.RunAsync(command, stoppingToken);
                    break;
                default:
                    await initializer.RunAsync(stoppingToken);
                    break;
            }
            Environment.ExitCode = (int)DbManagerExitCode.Done;
        }
        catch (DbManagerFailure ex)
        {
            Fail(ex.ExitCode, ex.Message, ex);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            Fail(DbManagerExitCode.Failed, "stopped before the database was ready", null);
        }
        catch (Exception ex)
        {
            Fail(DbManagerExitCode.Failed, $"{ex.GetType().Name}: {PostgresErrors.Describe(ex)}", ex);
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    private void Fail(DbManagerExitCode code, string reason, Exception? exception)
    {
        Environment.ExitCode = (int)code;
        logger.LogCritical("Mutt.DbManager failed ({ExitCode} {Code}): {Reason}", (int)code, code, reason);
        if (exception is not null)
        {
            logger.LogDebug(exception, "Mutt.DbManager failure details");
        }
    }
}
