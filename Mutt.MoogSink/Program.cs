using Mutt.MoogSink.Apis;
using Mutt.MoogSink.Sink;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddSingleton<SinkStore>();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapMoogEventsApi();
app.MapSinkControlApi();
await app.RunAsync();
