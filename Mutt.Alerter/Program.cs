var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.AddNpgsqlDataSource("muttdb");

var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
