using System.Reflection;
using EventMlOps.Contracts;

namespace EventMlOps.ControlPlane.Auth;

/// <summary>The role each command needs, as the command declares it (<see cref="SentByAttribute"/>; an
/// <see cref="IAgentReport"/> is the agents'); admin may do everything, every role may read.</summary>
public static class CommandRoles
{
    public static string For(Type command) =>
        command.GetCustomAttribute<SentByAttribute>()?.Role ?? (typeof(IAgentReport).IsAssignableFrom(command) ? Roles.Agent : Roles.Admin);
}
