using System.Diagnostics;

namespace EventMlOps.Cli.Tests.Usage;

/// <summary><c>emo completion bash|zsh|fish</c> loaded into the real shell: its completion, called as the shell calls it on
/// Tab, asks the real CLI (a process) and offers the verbs, options and choices that fit what is typed.</summary>
public sealed class CompletionTests
{
    [Theory]
    [InlineData("trai", "train")]
    [InlineData("endpoints ro", "rollback rollout")]
    [InlineData("train anomaly --ep", "--epochs")]
    [InlineData("train ", "anomaly recommender")] // options only once a '-' is typed
    [InlineData("runs show x --fo", "--follow")]
    [InlineData("completion ", "bash fish zsh")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Given_a_partly_typed_command_line_When_tab_is_pressed_in_bash_Then_the_fitting_words_are_offered(string typed, string offered)
    {
        var folder = Directory.CreateTempSubdirectory("emo-completion-").FullName;
        try
        {
            var emo = await WrapperAsync(folder);
            var line = $"{emo} {typed}";
            var script = "source <(\"$EMO\" completion bash) && COMP_LINE=\"$LINE\" && COMP_POINT=${#LINE} && read -ra COMP_WORDS <<< \"$LINE\" " +
                         $"&& {(typed.EndsWith(' ') ? "COMP_WORDS+=('') && " : "")}COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)) && _emo_complete && echo \"${{COMPREPLY[*]}}\"";
            var start = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
            (start.Environment["EMO"], start.Environment["LINE"]) = (emo, line);
            using var bash = Process.Start(start)!;
            var ct = TestContext.Current.CancellationToken;
            var (stdout, stderr) = (bash.StandardOutput.ReadToEndAsync(ct), bash.StandardError.ReadToEndAsync(ct));
            await bash.WaitForExitAsync(ct);

            bash.ExitCode.ShouldBe(0, await stderr);
            (await stdout).Trim().ShouldBe(offered);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("zsh", "trai", "train")]
    [InlineData("zsh", "endpoints ro", "rollback rollout")]
    [InlineData("zsh", "train anomaly --ep", "--epochs")]
    [InlineData("zsh", "train ", "anomaly recommender")]
    [InlineData("fish", "trai", "train")]
    [InlineData("fish", "endpoints ro", "rollback rollout")]
    [InlineData("fish", "train anomaly --ep", "--epochs")]
    [InlineData("fish", "train ", "anomaly recommender")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Given_a_partly_typed_command_line_When_tab_is_pressed_in_zsh_or_fish_Then_the_fitting_words_are_offered(string shell, string typed,
        string offered)
    {
        var folder = Directory.CreateTempSubdirectory("emo-completion-").FullName;
        try
        {
            await WrapperAsync(folder);
            // zsh: the completion function with compadd standing in for the completion system's (it prints what it is given);
            // fish: its own `complete -C`, which completes a command line as Tab would.
            var script = shell == "zsh"
                ? "source <(emo completion zsh) && compadd() { print -r -- \"${(@P)2}\" } && words=(${(z)LINE}) && "
                  + (typed.EndsWith(' ') ? "words+=('') && " : "") + "CURRENT=${#words} && _emo"
                : "emo completion fish | source; and echo (complete -C \"$LINE\")";
            var start = new ProcessStartInfo(shell, ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
            (start.Environment["PATH"], start.Environment["LINE"]) = ($"{folder}:{Environment.GetEnvironmentVariable("PATH")}", $"emo {typed}");
            using var process = Process.Start(start)!;
            var ct = TestContext.Current.CancellationToken;
            var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(ct), process.StandardError.ReadToEndAsync(ct));
            await process.WaitForExitAsync(ct);

            process.ExitCode.ShouldBe(0, await stderr);
            (await stdout).Trim().ShouldBe(offered);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>An <c>emo</c> in <paramref name="folder"/> that runs this build's CLI.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static async Task<string> WrapperAsync(string folder)
    {
        var emo = Path.Combine(folder, "emo");
        await File.WriteAllTextAsync(emo, $"#!/bin/sh\nexec dotnet '{typeof(EmoCli).Assembly.Location}' \"$@\"\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(emo, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return emo;
    }
}
