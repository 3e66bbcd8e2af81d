using System.Reflection;
using EventMlOps.Contracts;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.ControlPlane.WorkOrders;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>Nothing a slice adds is forgotten: every command of the contracts (and the tracking API's) declares the role
/// it needs and has its HTTP route on the real host.</summary>
public sealed class CompletenessTests(ControlPlaneFixture fx)
{
    private static readonly Type[] Commands = [.. typeof(ICommand).Assembly.GetTypes().Concat(typeof(ControlPlaneApp).Assembly.GetTypes())
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICommand).IsAssignableFrom(t))];

    [Fact]
    public void Given_every_command_When_the_roles_are_read_Then_each_declares_its_role_or_is_an_agents_report()
    {
        Commands.Where(c => c.GetCustomAttribute<SentByAttribute>() is null && !typeof(IAgentReport).IsAssignableFrom(c)).Select(c => c.Name)
            .ShouldBeEmpty("commands without a declared role (only admin could send them)");
        CommandRoles.For(typeof(Contracts.Training.RequestTraining)).ShouldBe(Roles.Scientist);
        CommandRoles.For(typeof(Contracts.Endpoints.EndpointStatusReport)).ShouldBe(Roles.Agent);
        CommandRoles.For(typeof(Contracts.Registry.ApproveModelVersion)).ShouldBe(Roles.Approver);
    }

    [Fact]
    public void Given_the_slices_subscription_handlers_When_the_subscription_is_configured_Then_it_takes_exactly_the_events_they_handle() =>
        SubscribedEvents.Types.Select(t => t.Name).Order().ShouldBe([
            "CanaryRolledBack", "DriftDetected", "EndpointDeleted", "EndpointDriftMeasured", "EndpointRolledBack", "ModelPolicySet", "ModelVersionApproved",
            "RolloutAborted", "RolloutFailed", "RolloutPromoted", "RolloutStarted", "RolloutStepAdvanced", "TrainingRunCancelled", "TrainingRunRequested",
            "TrainingRunSucceeded"]);

    [Fact]
    public void Given_every_command_When_the_host_maps_its_routes_Then_each_has_a_route()
    {
        var routes = fx.App.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName).OfType<string>().ToHashSet();
        // The MLflow API's commands are sent by MLflow's routes (runs/create, log-batch, …), not by routes of their own names.
        Commands.Where(c => c.Namespace != typeof(ControlPlane.Mlflow.MlflowApi).Namespace && !routes.Contains(c.Name)).Select(c => c.Name).ShouldBeEmpty("commands without an HTTP route");
    }
}
