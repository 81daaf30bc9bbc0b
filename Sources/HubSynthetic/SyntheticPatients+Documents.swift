import Foundation

extension SyntheticPatients {
    /// A discharge summary (出院小结) as a CDA R2 document with a WS/T 500-style header: the
    /// patient's resident ID under OID 2.16.156.10011.1.3, the document type in the shared-
    /// document code system, author and custodian organizations. `day` is `YYYY-MM-DD`.
    public static func dischargeSummaryCDA(
        _ person: Person, day: String, organization: String = "第一人民医院", organizationCode: String = "12440100455000001X"
    ) -> String {
        let time = day.replacingOccurrences(of: "-", with: "") + "093000"
        let birth = person.birthDate.replacingOccurrences(of: "-", with: "")
        let gender = person.gender == "male" ? "1" : "2"
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <realmCode code="CN"/>
              <typeId root="2.16.840.1.113883.1.3" extension="POCD_MT000040"/>
              <templateId root="2.16.156.10011.2.1.1.73"/>
              <id root="2.16.156.10011.1.1" extension="DS-\(person.residentID.suffix(6))-\(time)"/>
              <code code="C0032" codeSystem="2.16.156.10011.2.4" codeSystemName="卫生信息共享文档编码体系"/>
              <title>出院小结</title>
              <effectiveTime value="\(time)"/>
              <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25" codeSystemName="Confidentiality" displayName="正常访问保密级别"/>
              <languageCode code="zh-CN"/>
              <setId/>
              <versionNumber/>
              <recordTarget typeCode="RCT" contextControlCode="OP">
                <patientRole classCode="PAT">
                  <id root="2.16.156.10011.1.12" extension="ZY\(time.prefix(8))\(person.residentID.suffix(4))"/>
                  <patient classCode="PSN" determinerCode="INSTANCE">
                    <id root="2.16.156.10011.1.3" extension="\(person.residentID)"/>
                    <name>\(person.family)\(person.given)</name>
                    <administrativeGenderCode code="\(gender)" codeSystem="2.16.156.10011.2.3.3.4" codeSystemName="生理性别代码表(GB/T 2261.1)"/>
                    <birthTime value="\(birth)"/>
                  </patient>
                </patientRole>
              </recordTarget>
              <author typeCode="AUT" contextControlCode="OP">
                <time value="\(time)"/>
                <assignedAuthor classCode="ASSIGNED">
                  <id root="2.16.156.10011.1.7" extension="D0001"/>
                  <assignedPerson><name>李医生</name></assignedPerson>
                  <representedOrganization>
                    <id root="2.16.156.10011.1.5" extension="\(organizationCode)"/>
                    <name>\(organization)</name>
                  </representedOrganization>
                </assignedAuthor>
              </author>
              <custodian typeCode="CST">
                <assignedCustodian classCode="ASSIGNED">
                  <representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">
                    <id root="2.16.156.10011.1.5" extension="\(organizationCode)"/>
                    <name>\(organization)</name>
                  </representedCustodianOrganization>
                </assignedCustodian>
              </custodian>
              <component>
                <structuredBody>
                  <component>
                    <section>
                      <code code="11535-2" codeSystem="2.16.840.1.113883.6.1" displayName="HOSPITAL DISCHARGE DX"/>
                      <text>出院诊断：社区获得性肺炎，已好转。</text>
                    </section>
                  </component>
                </structuredBody>
              </component>
            </ClinicalDocument>
            """
    }
}
