using System.Reflection;

namespace EventMlOps.ControlPlane.Tests.Testing;

/// <summary>Given-when-then for pure decisions: folds the given events into state with the same
/// Create/Apply conventions Marten uses, runs the decision, and compares events by value.</summary>
public static class Spec
{
    public static T? Given<T>(params object[] events) where T : class
    {
        T? state = null;
        foreach (var e in events)
        {
            state = state is null
                ? (T)typeof(T).GetMethod("Create", BindingFlags.Public | BindingFlags.Static, [e.GetType()])!.Invoke(null, [e])!
                : typeof(T).GetMethod("Apply", [e.GetType()]) is { } apply ? (T)apply.Invoke(state, [e])! : state;
        }
        return state;
    }

    /// <summary>Compares by type and JSON value, so events holding lists and dictionaries compare structurally.</summary>
    public static void ThenEvents(this object[] actual, params object[] expected) =>
        actual.Select(Describe).ToArray().ShouldBe(expected.Select(Describe).ToArray());

    private static string Describe(object e) => $"{e.GetType().Name} {System.Text.Json.JsonSerializer.Serialize(e, e.GetType())}";

    public static TException ThenRefused<TException>(Func<object> when, string containing) where TException : Exception
    {
        var ex = Should.Throw<TException>(() => when());
        ex.Message.ShouldContain(containing, Case.Insensitive);
        return ex;
    }
}
