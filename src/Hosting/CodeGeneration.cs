using JasperFx.CodeGeneration;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Hosting;

/// <summary>How a host gets Wolverine's handler code: <c>CodeGeneration:Mode</c> = <c>Dynamic</c> (the default:
/// generated and compiled at start, for development and tests), <c>Static</c> (for release images: the code written by
/// <c>codegen write</c> and compiled in — no compiler at run time, a fast start, and a missing handler fails the start)
/// or <c>Auto</c>.</summary>
public static class CodeGeneration
{
    public static TypeLoadMode Mode(IConfiguration configuration) =>
        configuration["CodeGeneration:Mode"] is { Length: > 0 } text
            ? Enum.TryParse<TypeLoadMode>(text, ignoreCase: true, out var mode) && Enum.IsDefined(mode)
                ? mode
                : throw new InvalidOperationException($"CodeGeneration:Mode must be Dynamic, Static or Auto, not '{(text.Length > 20 ? text[..20] + "…" : text)}'")
            : TypeLoadMode.Dynamic;
}
