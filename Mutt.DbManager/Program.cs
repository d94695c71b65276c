// STUB (replaced by the real DbManager on merge): migrations, seed, role.
using Mutt.Core.Data;
using Npgsql;

var admin = Environment.GetEnvironmentVariable("ConnectionStrings__muttdb-admin")!;
var csb = new NpgsqlConnectionStringBuilder(admin);
var db = csb.Database!;
csb.Database = "postgres";
for (var i = 0; ; i++)
{
    try
    {
        await using var c = new NpgsqlConnection(csb.ConnectionString);
        await c.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname=@d", c);
        exists.Parameters.AddWithValue("d", db);
        if (await exists.ExecuteScalarAsync() is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{db}\"", c);
            await create.ExecuteNonQueryAsync();
        }
        break;
    }
    catch (Exception) when (i < 30) { await Task.Delay(1000); }
}
await using var ds = NpgsqlDataSource.Create(admin);
await MigrationRunner.ApplyAsync(ds);
if (Environment.GetEnvironmentVariable("DB_SEED") == "true") { await MigrationRunner.SeedAsync(ds); }
var user = Environment.GetEnvironmentVariable("DB_USER") ?? "mutt_user";
var pw = Environment.GetEnvironmentVariable("DB_PASS_CURRENT")!;
await using (var cmd = ds.CreateCommand($"""
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{user}') THEN CREATE ROLE "{user}" LOGIN; END IF;
    END $$;
    ALTER ROLE "{user}" PASSWORD '{pw.Replace("'", "''")}';
    GRANT USAGE ON SCHEMA public TO "{user}";
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{user}";
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{user}";
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO "{user}";
    """))
{
    await cmd.ExecuteNonQueryAsync();
}
Console.WriteLine("dbmanager: done");
