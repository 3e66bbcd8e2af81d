using System.CommandLine;
using EventMlOps.Contracts;

namespace EventMlOps.Cli.Auth;

/// <summary><c>emo token</c>: a development JWT signed with the local key ($EMO_HOME/keys/signing.key, or
/// Auth__SigningKey), printed alone so that <c>export EMO_TOKEN=$(./emo token ...)</c> works.</summary>
public static class TokenCommand
{
    public static Command Create()
    {
        var role = new Option<string[]>("--role") { Description = $"Role(s): {string.Join(", ", Roles.All)}", Required = true, Arity = ArgumentArity.OneOrMore };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var name = new Option<string>("--name") { Description = "The principal's name (recorded as the actor of every event it causes)", Required = true };
        var hours = new Option<double>("--hours") { Description = "Lifetime in hours", DefaultValueFactory = _ => 12 };
        var command = new Command("token", "Issue a development token signed with the local key") { role, name, hours };
        command.SetAction(parse =>
        {
            var ctx = CliContext.From(parse);
            var lifetime = parse.GetValue(hours);
            if (lifetime <= 0) throw CliError.Usage("--hours must be > 0");
            var who = parse.GetValue(name)!;
            try { who = EventMlOps.ControlPlane.Auth.Actor.Normalize(who); }
            catch (EventMlOps.ControlPlane.Commanding.Unauthenticated) { throw CliError.Usage("--name must be 1-63 characters without spaces or control characters"); }
            ctx.Out.WriteLine(ctx.Tokens.Issue(who, parse.GetValue(role)!.Distinct(), TimeSpan.FromHours(lifetime)));
            return 0;
        });
        return command;
    }
}
