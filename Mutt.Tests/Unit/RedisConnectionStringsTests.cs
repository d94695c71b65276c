using Mutt.Core.Clients;
using StackExchange.Redis;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RedisConnectionStringsTests
{
    [Fact]
    public void Sentinel_form_becomes_the_librarys_sentinel_configuration()
    {
        var translated = RedisConnectionStrings.ToStackExchange(
            "sentinel=127.0.0.1:26379, 127.0.0.1:26380,redis-s3;serviceName=mutt;password=p@ss;connectTimeout=7000;options=ssl=true,sslHost=redis.local");
        var options = ConfigurationOptions.Parse(translated);

        Assert.Equal("mutt", options.ServiceName);
        Assert.Equal("p@ss", options.Password);
        Assert.Equal(7000, options.ConnectTimeout);
        Assert.True(options.Ssl);
        Assert.Equal("redis.local", options.SslHost);
        Assert.Equal(["127.0.0.1:26379", "127.0.0.1:26380", "redis-s3:26379"], options.EndPoints.Select(e => Format(e)).ToArray());
    }

    [Fact]
    public void Sentinel_form_without_service_name_watches_mymaster() =>
        Assert.Equal("mymaster", ConfigurationOptions.Parse(RedisConnectionStrings.ToStackExchange("sentinel=h:26379")).ServiceName);

    [Theory]
    [InlineData("sentinel=127.0.0.1:26379", true)]
    [InlineData("serviceName=x; Sentinel=h:1", true)]
    [InlineData("127.0.0.1:6379", false)]
    [InlineData("127.0.0.1:6379,password=x,serviceName=mymaster", false)]
    public void Sentinel_form_is_told_apart_from_the_librarys_own(string connectionString, bool expected) =>
        Assert.Equal(expected, RedisConnectionStrings.IsSentinelForm(connectionString));

    [Fact]
    public void The_librarys_own_form_passes_unchanged() =>
        Assert.Equal("h1:26379,h2:26379,serviceName=mymaster,ssl=true", RedisConnectionStrings.ToStackExchange("h1:26379,h2:26379,serviceName=mymaster,ssl=true"));

    [Theory]
    [InlineData("serviceName=mymaster;sentinel=")]
    [InlineData("sentinel=127.0.0.1:26379;serviceName=")]
    [InlineData("sentinel=127.0.0.1:26379;bogus=1")]
    [InlineData("sentinel=127.0.0.1:26379;recheckSeconds=5")]
    [InlineData("sentinel=127.0.0.1:26379;password=a;sentinelPassword=b")]
    public void Malformed_sentinel_strings_are_rejected(string connectionString) =>
        Assert.Throws<FormatException>(() => RedisConnectionStrings.ToStackExchange(connectionString));

    [Fact]
    public void A_rejected_segment_is_never_echoed()
    {
        var ex = Assert.Throws<FormatException>(() => RedisConnectionStrings.ToStackExchange("sentinel=h:1;s3cr3t-password"));
        Assert.DoesNotContain("s3cr3t", ex.Message, StringComparison.Ordinal);
    }

    private static string Format(System.Net.EndPoint endpoint) => endpoint switch
    {
        System.Net.IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endpoint.ToString()!,
    };
}
