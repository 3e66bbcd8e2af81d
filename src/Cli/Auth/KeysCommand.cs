using System.CommandLine;
using EventMlOps.ControlPlane.Auth;

namespace EventMlOps.Cli.Auth;

/// <summary><c>emo keys rotate|retire</c>: rotation of the local signing key (see SECURITY.md). A leaked key can only be
/// rotated: <c>rotate</c> makes a new key that signs from the next start on, keeping the old one for validation so
/// tokens already out keep working; <c>retire</c> then drops the old keys, ending every token they signed.</summary>
public static class KeysCommand
{
    public static Command Create()
    {
        var rotate = new Command("rotate", "Make a new signing key; the old one still validates until `emo keys retire`");
        rotate.SetAction(parse =>
        {
            var ctx = CliContext.From(parse);
            var kid = Tokens.Rotate(Tokens.KeysFolder(ctx.Configuration));
            ctx.Out.WriteLine($"new signing key {kid}; restart the control plane (./emo down && ./emo up) to sign with it. "
                              + "Tokens signed with the old key stay valid until ./emo keys retire");
            return 0;
        });
        var retire = new Command("retire", "Drop the previous signing keys: every token they signed stops working");
        retire.SetAction(parse =>
        {
            var ctx = CliContext.From(parse);
            var retired = Tokens.PreviousKeyFiles(Tokens.KeysFolder(ctx.Configuration)).ToList();
            foreach (var file in retired) File.Delete(file);
            ctx.Out.WriteLine(retired.Count == 0 ? "no previous keys" : $"retired {retired.Count} previous key(s); restart the control plane to stop accepting them");
            return 0;
        });
        return new Command("keys", "Rotate the local signing key") { rotate, retire };
    }
}
