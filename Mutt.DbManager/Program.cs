using Mutt.DbManager.Database;
using Mutt.DbManager.Extensions;

// One-shot: prepares the database, or with "restore FILE" loads an audit archive back
// (DbManagerCommand); sets the exit code (0 = done) and stops. Settings come from the
// environment only, so the arguments are the command's, not configuration.
var builder = Host.CreateApplicationBuilder();
builder.AddServiceDefaults();
builder.AddMuttDefaults();
builder.AddApplicationServices(DbManagerCommand.Parse(args));
await builder.Build().RunAsync();
