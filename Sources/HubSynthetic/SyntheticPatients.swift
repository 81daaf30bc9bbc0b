import Foundation

/// Synthetic but realistic patient data: Chinese names and resident ID numbers with valid
/// check digits (GB 11643-1999). Deterministic for a seed, so failures reproduce.
public struct SyntheticPatients: Sendable {
    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
    static let givenCharacters = Array("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰")
    /// Address codes of real districts (Beijing Chaoyang, Shanghai Pudong, Shenzhen Nanshan,
    /// Hangzhou Xihu, Chengdu Wuhou).
    static let addressCodes = ["110105", "310115", "440305", "330106", "510107"]
    /// Those districts as FHIR `Address` parts: province (`state`), city, district.
    public static let districts: [String: (state: String, city: String, district: String)] = [
        "110105": ("北京市", "北京市", "朝阳区"), "310115": ("上海市", "上海市", "浦东新区"), "440305": ("广东省", "深圳市", "南山区"),
        "330106": ("浙江省", "杭州市", "西湖区"), "510107": ("四川省", "成都市", "武侯区"),
    ]
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters = Array("10X98765432")

    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    }

    /// A random whole number in 0 ..< bound.
    public mutating func next(_ bound: Int) -> Int {
        // xorshift64*: fine for test data, not for anything secret.
        self.state ^= self.state >> 12
        self.state ^= self.state << 25
        self.state ^= self.state >> 27
        return Int((self.state &* 0x2545_F491_4F6C_DD1D) >> 33) % bound
    }

    public struct Person: Sendable {
        public var family: String
        public var given: String
        public var gender: String
        public var birthDate: String
        public var residentID: String

        /// The home district: the one the resident ID's address code names.
        public var home: (state: String, city: String, district: String) {
            SyntheticPatients.districts[String(self.residentID.prefix(6))] ?? ("北京市", "北京市", "朝阳区")
        }
    }

    /// A random person; resident IDs may repeat after a few thousand (the birthday problem).
    public mutating func person() -> Person {
        self.person(number: self.next(Self.distinctPeople))
    }

    /// How many people ``person(number:)`` can tell apart.
    public static let distinctPeople = 500 * 80 * 12 * 28 * 5

    /// Person `number` (0 ..< ``distinctPeople``): every number gets its own resident ID (address,
    /// birth date and sequence number are digits of it), the rest is random. For loaders that
    /// must not create the same resident twice.
    public mutating func person(number: Int) -> Person {
        var rest = number % Self.distinctPeople
        let sequenceNumber = rest % 500
        rest /= 500
        let year = 1940 + rest % 80
        rest /= 80
        let month = 1 + rest % 12
        rest /= 12
        let day = 1 + rest % 28
        rest /= 28
        let address = Self.addressCodes[rest % Self.addressCodes.count]
        let family = String(Self.surnames[self.next(Self.surnames.count)])
        let given = (0..<(1 + self.next(2))).map { _ in String(Self.givenCharacters[self.next(Self.givenCharacters.count)]) }.joined()
        let male = self.next(2) == 0
        let sequence = sequenceNumber * 2 + (male ? 1 : 0)
        let body = address + String(format: "%04d%02d%02d%03d", year, month, day, sequence)
        return Person(
            family: family,
            given: given,
            gender: male ? "male" : "female",
            birthDate: String(format: "%04d-%02d-%02d", year, month, day),
            residentID: body + String(Self.checkCharacter(body))
        )
    }

    public static func checkCharacter(_ seventeenDigits: String) -> Character {
        let sum = zip(seventeenDigits.compactMap(\.wholeNumberValue), Self.weights).reduce(0) { $0 + $1.0 * $1.1 }
        return Self.checkCharacters[sum % 11]
    }

    /// A Patient resource as JSON text.
    public mutating func patientJSON(mrnSystem: String = "urn:health-hub:sid:mrn:H001") -> String {
        self.patientJSON(self.person(), mrnSystem: mrnSystem)
    }

    /// `person` as a Patient resource in JSON text; with `home`, their home district as the
    /// address (province, city, district: what open data reads).
    public mutating func patientJSON(_ person: Person, mrnSystem: String = "urn:health-hub:sid:mrn:H001", home: Bool = false) -> String {
        let address =
            home
            ? #","address":[{"use":"home","state":"\#(person.home.state)","city":"\#(person.home.city)","district":"\#(person.home.district)"}]"# : ""
        return """
            {"resourceType":"Patient",
             "identifier":[{"system":"urn:health-hub:sid:resident-id","value":"\(person.residentID)"},
                           {"system":"\(mrnSystem)","value":"MRN\(self.next(900_000) + 100_000)"}],
             "name":[{"family":"\(person.family)","given":["\(person.given)"],"text":"\(person.family)\(person.given)"}],
             "gender":"\(person.gender)","birthDate":"\(person.birthDate)"\(address)}
            """
    }
}
