-- Every change to what a request's grant is resolved from (tokens, principals, organizations)
-- is announced on channel hub_access_changed, whoever makes it: this hub, another hub, `hub
-- admin`, or an operator in psql. Hubs keep resolved grants in memory only while they listen
-- (issue #16), so a revocation or deactivation is in force at the next request. Inserts are
-- not announced: a new token or principal cannot make a kept grant wrong (refusals are not kept).
CREATE FUNCTION hub_announce_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hub_access_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER access_tokens_changed AFTER UPDATE OR DELETE OR TRUNCATE ON access_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION hub_announce_access_change();
CREATE TRIGGER principals_changed AFTER UPDATE OR DELETE OR TRUNCATE ON principals
    FOR EACH STATEMENT EXECUTE FUNCTION hub_announce_access_change();
CREATE TRIGGER organizations_changed AFTER UPDATE OR DELETE OR TRUNCATE ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION hub_announce_access_change();
