-- Single records shared with an organization outside the care relationships: a referral (its
-- Task and ServiceRequest) is visible to the organization it is addressed to from the moment it
-- is sent, before that organization has any relationship with the patient. Kept by the record
-- store in the transaction of the write that shares; `basis` is that resource (`Task/…`).
CREATE TABLE resource_shares (
    type             text NOT NULL,
    id               text NOT NULL,
    organization_id  text NOT NULL,
    basis            text NOT NULL,
    PRIMARY KEY (type, id, organization_id, basis)
);
CREATE INDEX resource_shares_basis ON resource_shares (basis);
