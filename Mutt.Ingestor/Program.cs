using Mutt.Ingestor.Apis;
using Mutt.Ingestor.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.ConfigureMuttHttps();
builder.AddServiceDefaults();
builder.AddMuttDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapIngestApi();
app.MapWebhookApi();
await app.RunAsync();
