using EventMlOps.Contracts.Environments;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Environments;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Environments;

public sealed class EnvironmentDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 14, 0, 0, TimeSpan.Zero);
    private static readonly Actor Ada = new("ada", new HashSet<string> { Contracts.Roles.Admin });
    private static readonly string Head = new('c', 64);
    private static RestoreEnvironment Restore(long until) => new(Guid.NewGuid(), until, Head, "http://source:5080/");

    [Fact]
    public void Given_a_store_holding_exactly_the_history_When_restored_Then_the_restoration_is_recorded_with_its_endpoints() =>
        EnvironmentDecisions.Restore(false, Restore(1234), 1234, ["rec", "sensors"], Ada, Now)
            .ThenEvents(new EnvironmentRestored(1234, Head, "http://source:5080/", ["rec", "sensors"], "ada", Now));

    [Fact]
    public void Given_a_restored_environment_When_restored_again_Then_it_is_refused() =>
        Spec.ThenRefused<Refused>(() => EnvironmentDecisions.Restore(true, Restore(12), 12, [], Ada, Now), "already restored");

    [Theory]
    [InlineData("not-a-digest", "historyHead")]
    [InlineData("", "source")]
    public void Given_a_malformed_restore_When_decided_Then_the_field_is_named(string bad, string field)
    {
        var command = field == "historyHead" ? Restore(5) with { HistoryHead = bad } : Restore(5) with { Source = bad };

        Spec.ThenRefused<InvalidField>(() => EnvironmentDecisions.Restore(false, command, 5, [], Ada, Now), field);
    }
}
