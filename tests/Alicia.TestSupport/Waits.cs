namespace Alicia.TestSupport;

/// <summary>Waits on signals (a completed task, a raised event), never on sleeps; the timeout only bounds a failing test.</summary>
public static class Waits
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(15);

    public static Task<T> Within<T>(this TaskCompletionSource<T> tcs, TimeSpan? timeout = null) => tcs.Task.WaitAsync(timeout ?? Long);

    public static Task Within(this TaskCompletionSource tcs, TimeSpan? timeout = null) => tcs.Task.WaitAsync(timeout ?? Long);
}
