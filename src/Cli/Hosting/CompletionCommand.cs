using System.CommandLine;

namespace EventMlOps.Cli.Hosting;

/// <summary><c>emo completion bash</c>: a script that completes verbs, options and choices as you type, by asking
/// the CLI itself (System.CommandLine's <c>[suggest:position]</c> directive) — so it is never out of date.</summary>
public static class CompletionCommand
{
    public static readonly IReadOnlyDictionary<string, string> Scripts = new Dictionary<string, string>
    {
        ["bash"] = """
            # emo completion for bash: source <(./emo completion bash), or save it under /etc/bash_completion.d/emo
            _emo_complete() {
              local cur="${COMP_WORDS[COMP_CWORD]}" s
              COMPREPLY=()
              while IFS= read -r s; do
                # Options once a '-' is typed; never the Windows-style help aliases.
                if [[ $s == "$cur"* && $s != /* && $s != "-?" && ( -n $cur || $s != -* ) ]]; then COMPREPLY+=("$s"); fi
              done < <("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
            }
            complete -o default -F _emo_complete emo ./emo
            """,
    };

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash (zsh and fish are not supported yet)" };
        shell.AcceptOnlyFromAmong([.. Scripts.Keys]);
        var command = new Command("completion", "Print a shell completion script for emo (e.g. source <(./emo completion bash))") { shell };
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.WriteLine(Scripts[parse.GetValue(shell)!]);
            return 0;
        });
        return command;
    }
}
