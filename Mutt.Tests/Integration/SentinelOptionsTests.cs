using System.Net;
using Mutt.Core.Redis;

namespace Mutt.Tests.Integration;

public sealed class SentinelOptionsTests
{
    [Fact]
    public void Connection_string_names_sentinels_service_and_passwords()
    {
        var options = SentinelOptions.Parse("sentinel=127.0.0.1:26379, 127.0.0.1:26380,redis-s3:26381;serviceName=mutt;password=p@ss;sentinelPassword=s;recheckSeconds=2");

        Assert.Equal(3, options.Sentinels.Count);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 26380), options.Sentinels[1]);
        Assert.Equal(new DnsEndPoint("redis-s3", 26381), options.Sentinels[2]);
        Assert.Equal("mutt", options.ServiceName);
        Assert.Equal("p@ss", options.Password);
        Assert.Equal("s", options.SentinelPassword);
        Assert.Equal(TimeSpan.FromSeconds(2), options.RecheckInterval);
        Assert.DoesNotContain("p@ss", options.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sentinel=127.0.0.1:26379", true)]
    [InlineData("serviceName=x; Sentinel=h:1", true)]
    [InlineData("127.0.0.1:6379", false)]
    [InlineData("127.0.0.1:6379,password=x,serviceName=mymaster", false)]
    public void Sentinel_connection_strings_are_told_apart_from_plain_ones(string connectionString, bool expected) =>
        Assert.Equal(expected, SentinelOptions.IsSentinelConnectionString(connectionString));

    [Theory]
    [InlineData("serviceName=mymaster")]
    [InlineData("sentinel=127.0.0.1:26379;serviceName=")]
    [InlineData("sentinel=127.0.0.1:26379;bogus=1")]
    [InlineData("sentinel=127.0.0.1:26379;secretwithoutkey")]
    public void Malformed_connection_strings_are_rejected(string connectionString) =>
        Assert.Throws<FormatException>(() => SentinelOptions.Parse(connectionString));
}
