using System.CommandLine;

namespace EventMlOps.Cli.Hosting;

/// <summary><c>emo completion bash|zsh|fish</c>: a script that completes verbs, options and choices as you type, by asking
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
        ["zsh"] = """
            #compdef emo
            # emo completion for zsh: source <(./emo completion zsh) after compinit, or save it as _emo in a folder of $fpath
            _emo() {
              local line="${(j: :)words[1,CURRENT]}" s
              local -a offered
              for s in "${(@f)$("${words[1]}" "[suggest:${#line}]" "$line" 2>/dev/null)}"; do
                # Options once a '-' is typed; never the Windows-style help aliases.
                [[ $s == /* || $s == "-?" || ( -z ${words[CURRENT]} && $s == -* ) ]] && continue
                [[ $s == "${words[CURRENT]}"* ]] && offered+=("$s")
              done
              compadd -a offered
            }
            if (( $+functions[compdef] )); then compdef _emo emo ./emo; fi
            """,
        ["fish"] = """
            # emo completion for fish: ./emo completion fish | source, or save it as ~/.config/fish/completions/emo.fish
            function __emo_complete
                set -l line (commandline -cp)
                set -l current (commandline -ct)
                set -l emo (commandline -opc)[1]
                for s in ($emo "[suggest:"(string length -- "$line")"]" "$line" 2>/dev/null)
                    # Options once a '-' is typed; never the Windows-style help aliases.
                    if string match -q -- '/*' $s; or test "$s" = '-?'; or begin; test -z "$current"; and string match -q -- '-*' $s; end
                        continue
                    end
                    echo $s
                end
            end
            complete -c emo -f -a '(__emo_complete)'
            complete -p '*/emo' -f -a '(__emo_complete)'
            """,
    };

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish" };
        shell.AcceptOnlyFromAmong([.. Scripts.Keys]);
        var command = new Command("completion", "Print a shell completion script for emo (bash: source <(./emo completion bash); zsh: the same after compinit; fish: ./emo completion fish | source)") { shell };
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.WriteLine(Scripts[parse.GetValue(shell)!]);
            return 0;
        });
        return command;
    }
}
