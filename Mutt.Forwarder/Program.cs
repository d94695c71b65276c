using Mutt.Forwarder.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddMuttDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
