"""The procedure catalogue API: listing, search without diacritics, filters, one procedure."""


def codes(response):
    return [item["code"] for item in response.get_json()["items"]]


def test_catalogue_lists_procedures_in_pages(client):
    first = client.get("/v1/procedures?per_page=10").get_json()
    second = client.get("/v1/procedures?per_page=10&page=2").get_json()
    assert first["total"] >= 20 and (first["page"], first["per_page"]) == (1, 10)
    assert len(first["items"]) == 10 and not {i["code"] for i in first["items"]} & {i["code"] for i in second["items"]}


def test_search_ignores_case_and_diacritics(client):
    for q in ("Đăng ký khai sinh", "dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "khai sinh"):
        assert "1.001193.H56" in codes(client.get("/v1/procedures", query_string={"q": q})), q


def test_search_matches_procedure_codes_and_agency_names(client):
    assert codes(client.get("/v1/procedures?q=1.001193")) == ["1.001193.H56"]
    by_agency = client.get("/v1/procedures", query_string={"q": "cong an tinh"}).get_json()["items"]
    assert by_agency and {item["agency"]["code"] for item in by_agency} == {"000.00.25.H56"}


def test_search_treats_percent_and_underscore_literally(client):
    assert client.get("/v1/procedures", query_string={"q": "%"}).get_json()["total"] == 0
    assert client.get("/v1/procedures", query_string={"q": "_"}).get_json()["total"] == 0


def test_filters_by_agency_and_level(client):
    partial = client.get("/v1/procedures?agency=000.00.06.H56&level=partial_online&per_page=100").get_json()
    assert partial["total"] == len(partial["items"]) > 0
    assert {(i["agency"]["code"], i["level"]) for i in partial["items"]} == {("000.00.06.H56", "partial_online")}


def test_procedure_detail_has_the_contract_fields(client):
    body = client.get("/v1/procedures/2.000488.H56").get_json()
    assert set(body) == {"code", "name", "agency", "field", "level", "processing_days", "fee_vnd", "fee_mode",
                         "documents", "delivery_methods", "result_is_paper"}
    assert body["agency"] == {"code": "000.00.25.H56", "name": "Công an tỉnh Phú Thọ"}
    assert body["field"] == {"code": "LY_LICH_TU_PHAP", "name": "Lý lịch tư pháp"}
    assert body["fee_vnd"] == 200000 and body["fee_mode"] == "before" and body["level"] == "full_online"
    assert {"code": "TK_LLTP", "name": "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp (theo mẫu)", "required": True} in body["documents"]
    assert set(body["delivery_methods"]) == {"counter", "post"}


def test_the_listing_shows_each_procedures_field_and_null_where_it_is_not_known(client, db):
    from intake.models import procedures

    listed = client.get("/v1/procedures?per_page=100").get_json()["items"]
    assert all(item["field"]["code"] and item["field"]["name"] for item in listed)
    assert {i["field"]["name"] for i in listed if i["code"] == "1.001193.H56"} == {"Hộ tịch"}
    with db.transaction() as conn:
        conn.execute(procedures.update().where(procedures.c.code == "1.001193.H56").values(field_code=None,
                                                                                          field_name=None))
    assert client.get("/v1/procedures/1.001193.H56").get_json()["field"] is None


def test_unknown_procedure_is_a_404(client):
    response = client.get("/v1/procedures/9.999999.H56")
    assert response.status_code == 404 and response.get_json()["code"] == 404


def test_invalid_query_is_a_422_naming_the_field(client):
    response = client.get("/v1/procedures?level=level4&per_page=1000")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["query"]) == {"level", "per_page"}
