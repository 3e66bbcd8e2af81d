using System.Globalization;
using System.Numerics;

namespace EventMlOps.Serving.Hosting;

/// <summary>Integers from a request's query.</summary>
public static class Integers
{
    /// <summary>Like <c>T.TryParse</c> (invariant culture), except that .NET's parsers take trailing NULs ("1\0" is 1):
    /// a value with any control character is refused instead.</summary>
    public static bool TryParse<T>(string text, NumberStyles styles, out T value) where T : INumberBase<T>
    {
        value = T.Zero;
        return !text.Any(char.IsControl) && T.TryParse(text, styles, CultureInfo.InvariantCulture, out value!);
    }
}
