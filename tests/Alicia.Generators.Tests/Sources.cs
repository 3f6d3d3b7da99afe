namespace Alicia.Generators.Tests;

/// <summary>Representative generator inputs.</summary>
internal static class Sources
{
    /// <summary>A class with every supported member kind, a struct, enums and messages; plus a probe that round-trips them.</summary>
    public const string Everything = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using Alicia.Contracts;
        using Alicia.Contracts.Serialization;

        namespace Sample;

        public enum Mood { Happy, VeryHappy, HTTPError, Alias = VeryHappy }

        [AliciaContract]
        public partial struct Point
        {
            public int X { get; set; }
            public int Y { get; set; }
            public string? Label { get; set; }
        }

        [AliciaContract]
        public sealed partial class Child
        {
            public string Name { get; set; } = "";
        }

        [AliciaContract]
        public sealed partial class Everything
        {
            public bool Flag { get; set; }
            public byte U8 { get; set; }
            public sbyte I8 { get; set; }
            public short I16 { get; set; }
            public ushort U16 { get; set; }
            public int I32 { get; set; }
            public uint U32 { get; set; }
            public long I64 { get; set; }
            public ulong U64 { get; set; }
            public float F32 { get; set; }
            public double F64 { get; set; }
            public string Text { get; set; } = "";
            public string? MaybeText { get; set; }
            public Guid Id { get; set; }
            public DateTimeOffset At { get; set; }
            public DateTime When { get; set; }
            public TimeSpan Span { get; set; }
            public byte[] Blob { get; set; } = [];
            public byte[]? MaybeBlob { get; set; }
            public Mood Mood { get; set; }
            public Mood? MaybeMood { get; set; }
            public int? MaybeInt { get; set; }
            public Guid? MaybeId { get; set; }
            public Point Point { get; set; }
            public Point? MaybePoint { get; set; }
            public Child Child { get; set; } = new();
            public Child? MaybeChild { get; set; }
            public List<int> Ints { get; set; } = [];
            public string[] Names { get; set; } = [];
            public IReadOnlyList<Child> Children { get; set; } = [];
            public IList<double?> Doubles { get; set; } = new List<double?>();
            public List<string>? MaybeList { get; set; }
            public List<List<int>> Nested { get; set; } = [];
            public int[][] Jagged { get; set; } = [];
            public byte[][] Blobs { get; set; } = [];
            public Dictionary<string, int> Counts { get; set; } = [];
            public IReadOnlyDictionary<string, Mood> Moods { get; set; } = new Dictionary<string, Mood>();
            public IDictionary<string, Child?> ChildMap { get; set; } = new Dictionary<string, Child?>();
            public Dictionary<string, string>? MaybeMap { get; set; }
            [WireName("renamed")] public int Original { get; set; }
            [WireIgnore] public int Ignored { get; set; }
            [WireIgnore] public int Computed => I32 * 2;
            public int @class { get; set; }
        }

        [AliciaMessage("alicia/rooms/{room_id}/lights/{light_id}/set", Kind = MessageKind.Command)]
        public sealed partial class LightSet
        {
            public double Level { get; set; }
            public Mood Mood { get; set; }
        }

        [AliciaMessage("alicia/rooms/all/lights/{light_id}/set")]
        public partial record struct AllLightsSet
        {
            public double Level { get; set; }
        }

        [AliciaMessage("alicia/system/ping")]
        public partial record Ping
        {
            public long Sequence { get; set; }
        }

        public static class Probe
        {
            public static Everything Sample() => new()
            {
                Flag = true, U8 = 200, I8 = -100, I16 = -30000, U16 = 60000, I32 = -2_000_000_000, U32 = 4_000_000_000,
                I64 = long.MinValue, U64 = ulong.MaxValue, F32 = 1.5f, F64 = Math.PI, Text = "héllo", MaybeText = null,
                Id = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), At = new DateTimeOffset(2024, 5, 6, 7, 8, 9, 123, TimeSpan.Zero).AddTicks(4567),
                When = new DateTime(1969, 12, 31, 23, 59, 59, DateTimeKind.Utc), Span = TimeSpan.FromMilliseconds(1234.5678),
                Blob = [1, 2, 3], MaybeBlob = null, Mood = Mood.HTTPError, MaybeMood = Mood.VeryHappy, MaybeInt = null, MaybeId = Guid.Empty,
                Point = new Point { X = 1, Y = -2, Label = "p" }, MaybePoint = new Point { X = 3 }, Child = new Child { Name = "c" }, MaybeChild = null,
                Ints = [1, -1, 300], Names = ["a", "b"], Children = [new Child { Name = "x" }], Doubles = new List<double?> { 1.25, null },
                MaybeList = ["z"], Nested = [[1], [], [2, 3]], Jagged = [[4], [5, 6]], Blobs = [[7], []],
                Counts = new() { ["one"] = 1 }, Moods = new Dictionary<string, Mood> { ["m"] = Mood.Happy },
                ChildMap = new Dictionary<string, Child?> { ["n"] = null, ["c"] = new Child { Name = "d" } }, MaybeMap = null,
                Original = 42, Ignored = 7, @class = 9,
            };

            public static string Check(Everything a, Everything b)
            {
                var problems = new List<string>();
                void Eq<T>(string name, T x, T y) { if (!EqualityComparer<T>.Default.Equals(x, y)) problems.Add($"{name}: {x} != {y}"); }
                Eq("flag", a.Flag, b.Flag); Eq("u8", a.U8, b.U8); Eq("i8", a.I8, b.I8); Eq("i16", a.I16, b.I16); Eq("u16", a.U16, b.U16);
                Eq("i32", a.I32, b.I32); Eq("u32", a.U32, b.U32); Eq("i64", a.I64, b.I64); Eq("u64", a.U64, b.U64); Eq("f32", a.F32, b.F32); Eq("f64", a.F64, b.F64);
                Eq("text", a.Text, b.Text); Eq("maybe_text", a.MaybeText, b.MaybeText); Eq("id", a.Id, b.Id); Eq("at", a.At, b.At);
                Eq("when", a.When.ToUniversalTime(), b.When.ToUniversalTime()); Eq("span", a.Span, b.Span);
                Eq("blob", Convert.ToHexString(a.Blob), Convert.ToHexString(b.Blob)); Eq("maybe_blob", a.MaybeBlob is null, b.MaybeBlob is null);
                Eq("mood", a.Mood, b.Mood); Eq("maybe_mood", a.MaybeMood, b.MaybeMood); Eq("maybe_int", a.MaybeInt, b.MaybeInt); Eq("maybe_id", a.MaybeId, b.MaybeId);
                Eq("point", a.Point, b.Point); Eq("maybe_point", a.MaybePoint, b.MaybePoint); Eq("child", a.Child.Name, b.Child.Name); Eq("maybe_child", a.MaybeChild is null, b.MaybeChild is null);
                Eq("ints", string.Join(",", a.Ints), string.Join(",", b.Ints)); Eq("names", string.Join(",", a.Names), string.Join(",", b.Names));
                Eq("children", a.Children[0].Name, b.Children[0].Name); Eq("doubles", string.Join(",", a.Doubles), string.Join(",", b.Doubles));
                Eq("maybe_list", string.Join(",", a.MaybeList!), string.Join(",", b.MaybeList!));
                Eq("nested", string.Join("|", a.Nested.Select(l => string.Join(",", l))), string.Join("|", b.Nested.Select(l => string.Join(",", l))));
                Eq("jagged", string.Join("|", a.Jagged.Select(l => string.Join(",", l))), string.Join("|", b.Jagged.Select(l => string.Join(",", l))));
                Eq("blobs", string.Join("|", a.Blobs.Select(Convert.ToHexString)), string.Join("|", b.Blobs.Select(Convert.ToHexString)));
                Eq("counts", a.Counts["one"], b.Counts["one"]); Eq("moods", a.Moods["m"], b.Moods["m"]);
                Eq("child_map", b.ChildMap["n"] is null && b.ChildMap["c"]!.Name == "d", true); Eq("maybe_map", a.MaybeMap is null, b.MaybeMap is null);
                Eq("renamed", a.Original, b.Original); Eq("ignored", 0, b.Ignored); Eq("class", a.@class, b.@class);
                return string.Join("; ", problems);
            }

            public static string MsgPack()
            {
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                var writer = new MsgPackWriter(buffer);
                Everything.Write(ref writer, Sample());
                writer.Flush();
                var reader = new MsgPackReader(buffer.WrittenSpan);
                Everything back = Everything.Read(ref reader);
                return reader.End ? Check(Sample(), back) : "trailing bytes";
            }

            public static string Json()
            {
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                using (var writer = new System.Text.Json.Utf8JsonWriter(buffer)) Everything.WriteJson(writer, Sample());
                var reader = new System.Text.Json.Utf8JsonReader(buffer.WrittenSpan);
                reader.Read();
                Everything back = Everything.ReadJson(ref reader);
                string json = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
                return reader.TokenType == System.Text.Json.JsonTokenType.EndObject && !reader.Read() ? Check(Sample(), back) : "reader not on the final EndObject: " + json;
            }

            public static string JsonText()
            {
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                using (var writer = new System.Text.Json.Utf8JsonWriter(buffer)) Everything.WriteJson(writer, Sample());
                return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
            }

            public static string Topics()
            {
                var problems = new List<string>();
                string topic = LightSet.BuildTopic("kitchen", "l1");
                if (topic != "alicia/rooms/kitchen/lights/l1/set") problems.Add("build " + topic);
                Span<byte> utf8 = stackalloc byte[LightSet.MaxTopicBytes(7, 2)];
                if (!LightSet.TryFormatTopic(utf8, "kitchen", "l1", out int n) || n != topic.Length) problems.Add("format");
                if (!LightSet.TryParseTopic(utf8[..n], out Range room, out Range light) || System.Text.Encoding.UTF8.GetString(utf8[room]) != "kitchen" || System.Text.Encoding.UTF8.GetString(utf8[light]) != "l1") problems.Add("parse");
                if (LightSet.TopicFilter != "alicia/rooms/+/lights/+/set") problems.Add("filter");
                if (LightSet.DefaultKind != MessageKind.Command || Ping.DefaultKind != MessageKind.Event) problems.Add("kind");
                if (!Ping.TryParseTopic("alicia/system/ping"u8) || Ping.TryParseTopic("alicia/system/ping/"u8)) problems.Add("ping");
                if (!Alicia.TestContracts.AliciaTopicTable.TryMatch("alicia/rooms/all/lights/x/set"u8, out Alicia.TestContracts.AliciaMessageId id) || id != Alicia.TestContracts.AliciaMessageId.AllLightsSet) problems.Add("specific first: " + id);
                if (!Alicia.TestContracts.AliciaTopicTable.TryMatch("alicia/rooms/den/lights/x/set"u8, out id) || id != Alicia.TestContracts.AliciaMessageId.LightSet) problems.Add("placeholder: " + id);
                if (Alicia.TestContracts.AliciaTopicTable.TryMatch("alicia/rooms//lights/x/set"u8, out _)) problems.Add("empty segment matched");
                if (Alicia.TestContracts.AliciaTopics.All.Count != 3 || Alicia.TestContracts.AliciaTopics.Ping != "alicia/system/ping") problems.Add("topics");
                return string.Join("; ", problems);
            }
        }
        """;
}
