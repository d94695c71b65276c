using Mutt.DbManager.Extensions;

// One-shot: prepares the database, sets the exit code (0 = done) and stops.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();
await builder.Build().RunAsync();
