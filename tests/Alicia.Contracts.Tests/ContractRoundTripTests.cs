using System.Reflection;
using System.Text.Json;
using Alicia.Contracts.Messages;
using Alicia.Contracts.Serialization;

namespace Alicia.Contracts.Tests;

public sealed class ContractRoundTripTests
{
    [Fact]
    public void Every_contract_type_of_the_assembly_is_covered()
    {
        Assert.True(Samples.ContractTypes.Length >= 34, $"found {Samples.ContractTypes.Length} contract types");
        Assert.All(Samples.ContractTypes, t => Assert.Contains(t.GetInterfaces(), i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IAliciaSerializable<>)));
    }

    [Theory]
    [MemberData(nameof(Samples.ContractTypeNames), MemberType = typeof(Samples))]
    public void Round_trips_through_MessagePack(string typeName) => Generic(nameof(MsgPackRoundTrip), typeName);

    [Theory]
    [MemberData(nameof(Samples.ContractTypeNames), MemberType = typeof(Samples))]
    public void Round_trips_through_Json(string typeName) => Generic(nameof(JsonRoundTrip), typeName);

    [Theory]
    [MemberData(nameof(Samples.ContractTypeNames), MemberType = typeof(Samples))]
    public void Truncated_payload_throws_MsgPackException_at_every_cut(string typeName) => Generic(nameof(Truncations), typeName);

    private static void Generic(string method, string typeName)
    {
        MethodInfo m = typeof(ContractRoundTripTests).GetMethod(method, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(Samples.ByName(typeName));
        try { m.Invoke(null, null); }
        catch (TargetInvocationException e) when (e.InnerException is not null) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException); }
    }

    private static void MsgPackRoundTrip<T>() where T : IAliciaSerializable<T>
    {
        var original = (T)Samples.Populate(typeof(T));
        byte[] bytes = Samples.ToMsgPack(original);
        T back = Samples.FromMsgPack<T>(bytes, new Utf8StringCache());
        Assert.Null(Samples.Difference(original, back));
        Assert.Equal(bytes, Samples.ToMsgPack(back));
    }

    private static void JsonRoundTrip<T>() where T : IAliciaSerializable<T>
    {
        var original = (T)Samples.Populate(typeof(T));
        string json = Samples.ToJson(original);
        T back = Samples.FromJson<T>(json);
        Assert.Null(Samples.Difference(original, back));
        Assert.Equal(json, Samples.ToJson(back));
    }

    private static void Truncations<T>() where T : IAliciaSerializable<T>
    {
        byte[] bytes = Samples.ToMsgPack((T)Samples.Populate(typeof(T)));
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            byte[] prefix = bytes[..cut];
            Exception? e = Record.Exception(() => Samples.FromMsgPack<T>(prefix));
            Assert.True(e is MsgPackException, $"cut at {cut} of {bytes.Length}: {e?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void Wire_names_are_snake_case()
    {
        var health = new ServiceHealth { Service = "stt", Status = HealthStatus.Degraded, LastHeartbeat = Samples.Instant, IntervalMs = 1000 };
        string json = Samples.ToJson(health);
        Assert.Contains("\"last_heartbeat\":\"2025-03-14T15:09:26.5358979+00:00\"", json);
        Assert.Contains("\"interval_ms\":1000", json);
        Assert.Contains("\"status\":\"degraded\"", json);

        var map = MessagePack.MessagePackSerializer.Deserialize<Dictionary<object, object>>(Samples.ToMsgPack(new DeviceRegistration { DeviceId = "d1", DeviceType = "sensor" }));
        Assert.Equal(["device_id", "device_type", "capabilities", "endpoints", "metadata"], map.Keys.Cast<string>());
        Assert.Equal("d1", map["device_id"]);
    }

    [Fact]
    public void Json_uses_base64_for_bytes_and_ticks_for_nothing_else()
    {
        string json = Samples.ToJson(new PersistRecord { Collection = "c", Key = "k", Value = [1, 2, 3, 4] });
        Assert.Equal("{\"collection\":\"c\",\"key\":\"k\",\"value\":\"AQIDBA==\"}", json);
    }

    [Fact]
    public void Nullable_members_round_trip_as_nil_and_null()
    {
        var p = new CapabilityParameter { Name = "level", Unit = null, Min = null, Max = 100, Values = null, Required = true };
        CapabilityParameter m = Samples.FromMsgPack<CapabilityParameter>(Samples.ToMsgPack(p));
        Assert.Null(m.Unit);
        Assert.Null(m.Min);
        Assert.Equal(100, m.Max);
        Assert.Null(m.Values);
        string json = Samples.ToJson(p);
        Assert.Contains("\"unit\":null", json);
        Assert.Contains("\"min\":null", json);
        CapabilityParameter j = Samples.FromJson<CapabilityParameter>(json);
        Assert.Null(Samples.Difference(p, j));
    }

    [Fact]
    public void Unknown_keys_are_skipped_for_forward_compatibility()
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) =>
        {
            w.WriteMapHeader(3);
            w.WriteString("future_field"u8);
            w.WriteMapHeader(1); w.Write("nested"); w.WriteArrayHeader(2); w.Write(1); w.Write(DateTimeOffset.UnixEpoch);
            w.WriteString("device_id"u8); w.Write("d7");
            w.WriteString("reason"u8); w.Write("shutdown");
        });
        DeviceUnregistration u = Samples.FromMsgPack<DeviceUnregistration>(bytes);
        Assert.Equal("d7", u.DeviceId);
        Assert.Equal("shutdown", u.Reason);

        DeviceUnregistration j = Samples.FromJson<DeviceUnregistration>("{\"future\":{\"a\":[1,{\"b\":null}]},\"device_id\":\"d8\",\"other\":3}");
        Assert.Equal("d8", j.DeviceId);
        Assert.Equal("", j.Reason);
    }

    [Fact]
    public void Nil_for_a_non_nullable_member_names_the_field()
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => { w.WriteMapHeader(1); w.WriteString("device_id"u8); w.WriteNil(); });
        var e = Assert.Throws<MsgPackException>(() => Samples.FromMsgPack<DeviceUnregistration>(bytes));
        Assert.Equal("field 'device_id' of DeviceUnregistration must not be nil", e.Message);

        byte[] nested = Samples.Build((ref MsgPackWriter w) => { w.WriteMapHeader(1); w.WriteString("metadata"u8); w.WriteNil(); });
        Assert.Contains("field 'metadata' of DeviceRegistration", Assert.Throws<MsgPackException>(() => Samples.FromMsgPack<DeviceRegistration>(nested)).Message);

        var je = Assert.Throws<JsonException>(() => Samples.FromJson<DeviceUnregistration>("{\"device_id\":null}"));
        Assert.Contains("field 'device_id' of DeviceUnregistration", je.Message);
    }

    [Fact]
    public void Unknown_enum_name_names_the_value()
    {
        byte[] bytes = Samples.Build((ref MsgPackWriter w) => { w.WriteMapHeader(1); w.WriteString("state"u8); w.Write("exploded"); });
        Assert.Contains("'exploded'", Assert.Throws<MsgPackException>(() => Samples.FromMsgPack<DeviceStatus>(bytes)).Message);
        var je = Assert.Throws<JsonException>(() => Samples.FromJson<DeviceStatus>("{\"state\":\"exploded\"}"));
        Assert.Contains("'exploded'", je.Message);
        Assert.Contains("state", je.Message);
        Assert.Equal(DeviceState.Offline, Samples.FromJson<DeviceStatus>("{\"state\":\"off\\u006cine\"}").State);
    }

    [Theory]
    [InlineData("{\"device_id\":5}", "device_id")]
    [InlineData("{\"device_id\":\"d\",\"reason\":[]}", "reason")]
    public void Wrong_json_token_names_the_property(string json, string property)
    {
        var e = Assert.Throws<JsonException>(() => Samples.FromJson<DeviceUnregistration>(json));
        Assert.Contains($"'{property}'", e.Message);
    }

    [Theory]
    [InlineData("{\"birth_sequence\":\"1\"}", "birth_sequence")]
    [InlineData("{\"attributes\":[1]}", "attributes")]
    [InlineData("{\"attributes\":{\"a\":1}}", "attributes")]
    public void Wrong_json_token_in_numbers_and_maps_names_the_property(string json, string property)
    {
        var e = Assert.Throws<JsonException>(() => Samples.FromJson<DeviceStatus>(json));
        Assert.Contains($"'{property}'", e.Message);
    }

    [Fact]
    public void Json_reader_requires_an_object() =>
        Assert.Throws<JsonException>(() => Samples.FromJson<DeviceUnregistration>("[1]"));

    [Fact]
    public void Struct_contract_reads_without_a_class_wrapper()
    {
        var t = new SensorTelemetry { DeviceId = "s1", Sensor = "temp", Value = 21.5, Unit = "C", Location = "kitchen" };
        SensorTelemetry back = Samples.FromMsgPack<SensorTelemetry>(Samples.ToMsgPack(t));
        Assert.Equal(t, back);
        Assert.Equal(t, Samples.FromJson<SensorTelemetry>(Samples.ToJson(t)));
    }

    [Fact]
    public void Null_class_value_writes_nil_and_reading_nil_is_an_error()
    {
        byte[] bytes = Samples.ToMsgPack<DeviceMetadata>(null!);
        Assert.Equal([0xc0], bytes);
        Assert.Contains("DeviceMetadata", Assert.Throws<MsgPackException>(() => Samples.FromMsgPack<DeviceMetadata>(bytes)).Message);
        Assert.Equal("null", Samples.ToJson<DeviceMetadata>(null!));
    }
}
