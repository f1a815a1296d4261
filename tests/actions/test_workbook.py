"""The XLSX round trip: export a segment with all customer data, change cells, upload it back;
good rows are applied whole, bad rows are reported with their row, column and reason."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import text

from domain.actions import service as actions
from domain.actions import workbook
from domain.jobs_state.service import JobRefused, get_job
from domain.people.models import ConsentType, CustomFieldDefinition
from domain.segments import service as segments
from domain.tags import service as tags
from graph.core.ids import from_global_id
from tests import factories as f

UPLOAD = """mutation($input: UpdatePersonsFromWorkbookInput!) { updatePersonsFromWorkbook(input: $input) {
  ... on JobStarted { job { id kind } }
  ... on UpdatePersonsFromWorkbookFailure { errors { code path message } } } }"""


def _noop(fraction: float, message: str = "") -> None:
    pass


def _upload(gql, token: str, content: bytes):
    operations = {"query": UPLOAD, "variables": {"input": {"file": None}}}
    return gql.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": ("personen.xlsx", content, "application/octet-stream")},
    ).json()


@pytest.fixture()
def venue(session, account):
    session.add(CustomFieldDefinition(account_id=account.id, key="seats", label="Stoelen", type="number"))
    session.add(CustomFieldDefinition(account_id=account.id, key="member_since", label="Lid sinds", type="date"))
    newsletter = ConsentType(account_id=account.id, key="newsletter", name="Nieuwsbrief")
    session.add(newsletter)
    session.flush()
    persons = [
        f.person(session, account.id, city="Utrecht", first_name=name, custom_fields={"seats": 2})
        for name in ("Anna", "Bram", "Cor", "Dirk", "Eva")
    ]
    jazz = f.tag(session, account.id, "Jazz")
    tags.attach(
        session,
        account.id,
        tag_ids=[jazz.id],
        target=tags.TargetKind.PERSON,
        target_ids=[persons[0].id],
        source="person",
        actor=None,
    )
    session.execute(
        text(
            "INSERT INTO person_consent (account_id, person_id, consent_type_id, granted, granted_at, source) "
            "VALUES (:a, :p, :c, true, now(), 'person')"
        ),
        {"a": account.id, "p": persons[0].id, "c": newsletter.id},
    )
    segment = segments.create_segment(
        session,
        account.id,
        name="Utrecht",
        rules={"type": "text", "field": "city", "operator": "eq", "value": "Utrecht"},
    )
    return persons, segment


def _export(runtime, session, account, segment, storage) -> bytes:
    action = workbook.start_xlsx_export(session, account.id, actions.Target(segment.id))
    result = workbook.run_xlsx_export(runtime.new_session, action.job_id, storage, _noop)
    assert result["rows"] == 5
    return (storage / f"exports/{account.id}/{action.id}.xlsx").read_bytes()


def test_an_xlsx_export_holds_all_customer_data_in_the_documented_layout(runtime, session, account, venue, tmp_path):
    persons, segment = venue
    book = load_workbook(io.BytesIO(_export(runtime, session, account, segment, tmp_path)), read_only=True)
    assert book.sheetnames == ["persons", "about"]
    rows = list(book["persons"].iter_rows(values_only=True))
    assert rows[0] == (
        "marquee_id", "email", "first_name", "last_name", "gender", "birth_date", "language", "address",
        "postal_code", "city", "country", "custom:member_since", "custom:seats", "identities", "tags",
        "consent:newsletter", "orders", "tickets", "revenue", "last_ordered_at", "created_at", "updated_at",
    )  # fmt: skip
    anna = dict(zip(rows[0], rows[1]))
    assert anna["marquee_id"] == persons[0].id and anna["first_name"] == "Anna" and anna["custom:seats"] == 2
    assert anna["tags"] == "Jazz" and anna["consent:newsletter"] == "granted" and anna["orders"] == 0
    assert dict(zip(rows[0], rows[2]))["consent:newsletter"] is None
    assert "updatePersonsFromWorkbook" in " ".join(str(r[0]) for r in book["about"].iter_rows(values_only=True))


def test_changed_cells_uploaded_back_update_the_good_rows_whole_and_report_the_bad(
    gql, runtime, session, account, other_account, venue, tmp_path
):
    runtime.settings = dataclasses.replace(runtime.settings, storage_dir=tmp_path)
    persons, segment = venue
    stranger = f.person(session, other_account.id, first_name="Vreemd")
    book = load_workbook(io.BytesIO(_export(runtime, session, account, segment, tmp_path)))
    sheet = book["persons"]
    header = [c.value for c in sheet[1]]

    def cell(row: int, column: str):
        return sheet.cell(row=row, column=header.index(column) + 1)

    cell(2, "city").value = "Amersfoort"  # Anna: two good changes
    cell(2, "custom:seats").value = 4
    cell(2, "tags").value = "Opera"  # read only: ignored
    cell(3, "email").value = persons[2].email.upper()  # Bram takes Cor's address: refused
    cell(3, "city").value = "Zeist"  # ... and so is the rest of his row
    cell(4, "birth_date").value = "31-02-1980"  # Cor: not a date
    cell(5, "last_name").value = None  # Dirk: cleared
    cell(5, "custom:member_since").value = date(2020, 5, 1)
    cell(6, "marquee_id").value = stranger.id  # another account's person
    buffer = io.BytesIO()
    book.save(buffer)

    started = _upload(gql, account.marketer_token, buffer.getvalue())
    job_id = from_global_id(started["data"]["updatePersonsFromWorkbook"]["job"]["id"], "Job")[1]
    job = get_job(session, account.id, job_id)
    result = workbook.run_workbook_update(runtime.new_session, job, runtime.settings.storage, _noop)

    assert (result["rows"], result["updated"], result["unchanged"], result["refused"]) == (5, 2, 0, 3)
    assert {(e["row"], e["column"]) for e in result["errors"]} == {(3, "email"), (4, "birth_date"), (6, "marquee_id")}
    assert "belongs to another person" in next(e["message"] for e in result["errors"] if e["row"] == 3)
    assert set(result["ignored_columns"]) >= {"tags", "consent:newsletter", "identities", "orders"}
    stored = {
        row.first_name: row
        for row in session.execute(
            text("SELECT first_name, last_name, city, email, custom_fields FROM person WHERE account_id = :a"),
            {"a": account.id},
        )
    }
    assert stored["Anna"].city == "Amersfoort" and stored["Anna"].custom_fields == {"seats": 4}
    assert stored["Bram"].city == "Utrecht" and stored["Bram"].email == persons[1].email  # all or nothing
    assert stored["Dirk"].last_name is None and stored["Dirk"].custom_fields == {
        "seats": 2,
        "member_since": "2020-05-01",
    }
    assert session.execute(text("SELECT first_name FROM person WHERE id = :p"), {"p": stranger.id}).scalar() == "Vreemd"
    session.expire_all()
    assert get_job(session, account.id, job_id).status == "succeeded"
    with pytest.raises(JobRefused, match="no longer in the storage folder"):  # removed once applied
        workbook.run_workbook_update(runtime.new_session, job, runtime.settings.storage, _noop)

    # The same file again: Anna and Dirk changed after the export (by the first upload), so their rows
    # are refused rather than undoing anything; the unchanged rows stay as they are.
    again = _upload(gql, account.marketer_token, buffer.getvalue())
    job_again = get_job(
        session, account.id, from_global_id(again["data"]["updatePersonsFromWorkbook"]["job"]["id"], "Job")[1]
    )
    repeated = workbook.run_workbook_update(runtime.new_session, job_again, runtime.settings.storage, _noop)
    guarded = {e["row"] for e in repeated["errors"] if e["column"] == "updated_at"}
    assert guarded == {2, 5} and repeated["updated"] == 0


def test_a_file_that_is_not_the_layout_is_refused_with_a_reason(gql, runtime, session, account, tmp_path):
    runtime.settings = dataclasses.replace(runtime.settings, storage_dir=tmp_path)
    not_a_workbook = _upload(gql, account.marketer_token, b"email,first_name\r\nx@example.nl,X\r\n")
    assert not_a_workbook["data"]["updatePersonsFromWorkbook"]["errors"] == [
        {
            "code": "INVALID",
            "path": ["input", "file"],
            "message": "the file is not an XLSX workbook (export a segment as XLSX for the layout)",
        }
    ]
    assert list((tmp_path / "workbooks" / str(account.id)).iterdir()) == []  # nothing kept
    broken_zip = _upload(gql, account.marketer_token, b"PK\x03\x04 not really a zip")
    job_id = from_global_id(broken_zip["data"]["updatePersonsFromWorkbook"]["job"]["id"], "Job")[1]
    with pytest.raises(JobRefused, match="not an XLSX workbook"):
        workbook.run_workbook_update(
            runtime.new_session, get_job(session, account.id, job_id), runtime.settings.storage, _noop
        )

    other = Workbook()
    other.active.append(["email"])
    buffer = io.BytesIO()
    other.save(buffer)
    wrong = _upload(gql, account.marketer_token, buffer.getvalue())
    job = get_job(
        session, account.id, from_global_id(wrong["data"]["updatePersonsFromWorkbook"]["job"]["id"], "Job")[1]
    )
    with pytest.raises(JobRefused, match="no sheet 'persons'"):
        workbook.run_workbook_update(runtime.new_session, job, runtime.settings.storage, _noop)

    empty = _upload(gql, account.marketer_token, b"")
    assert empty["data"]["updatePersonsFromWorkbook"]["errors"][0]["code"] == "REQUIRED"
    refused = _upload(gql, account.viewer_token, buffer.getvalue())
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
