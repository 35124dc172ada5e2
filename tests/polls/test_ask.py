"""Asking a question at /ask/: the form, its validation, choice rows without
JavaScript, tags, similar questions, moderation of first questions, and pictures."""

from __future__ import annotations

import html as html_lib
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from polls import services
from polls.models import Image, Question, Tag

ASK = reverse("polls:ask")


def ask_data(choices: tuple[str, ...] = ("Tea", "Coffee"), **fields) -> dict:
    """What the browser sends for the ask form, with ``fields`` overriding."""
    data = {
        "title": "Which drink starts your morning?",
        "description": "Before the first meeting of the day.",
        "tags": "",
        "kind": "single",
        "max_choices": "",
        "closes_at": "",
        "results_visibility": "always",
        "choices-TOTAL_FORMS": str(len(choices)),
        "choices-INITIAL_FORMS": str(len(choices)),
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "12",
    }
    for index, text in enumerate(choices):
        data[f"choices-{index}-text"] = text
    data.update(fields)
    return data


def errors_of(html: str, field_id: str) -> list[str]:
    """The messages of the error list that belongs to one field (linked by id)."""
    found = re.search(
        rf'<ul class="errorlist[^"]*" id="{re.escape(field_id)}_error">(.*?)</ul>', html, re.S
    )
    return (
        [html_lib.unescape(m) for m in re.findall(r"<li>(.*?)</li>", found.group(1))]
        if found
        else []
    )


def all_errors(html: str) -> list[str]:
    return re.findall(r'class="errorlist', html)


def value_of(html: str, name: str) -> str | None:
    found = re.search(rf'<input [^>]*name="{re.escape(name)}"[^>]*>', html)
    if found is None:
        return None
    value = re.search(r'value="([^"]*)"', found.group(0))
    return html_lib.unescape(value.group(1)) if value else ""


def row_names(html: str) -> list[str]:
    return re.findall(r'name="(choices-\d+-text)"', html)


@pytest.fixture
def asker(client, alice, settings):
    """Alice, signed in, trusted to publish at once."""
    settings.MODERATE_FIRST_QUESTIONS = 0
    client.force_login(alice)
    return client


# --- Access -------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in_and_back(client, db):
    for response in (client.get(ASK), client.post(ASK, ask_data())):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('accounts:login')}?next=/ask/"
    assert not Question.objects.exists()


def test_inactive_user_is_logged_out_and_cannot_ask(client, alice):
    client.force_login(alice)
    alice.is_active = False
    alice.save()
    for response in (client.get(ASK), client.post(ASK, ask_data())):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('accounts:login')}?next=/ask/"
    assert not Question.objects.exists()


def test_inactive_user_is_refused_even_by_a_lenient_backend(client, alice, settings):
    lenient = "django.contrib.auth.backends.AllowAllUsersModelBackend"
    settings.AUTHENTICATION_BACKENDS = [lenient]
    alice.is_active = False
    alice.save()
    client.force_login(alice, backend=lenient)
    assert client.get(ASK).status_code == 403
    assert client.post(ASK, ask_data()).status_code == 403
    assert not Question.objects.exists()


def test_inactive_author_is_refused_by_the_service_too(alice):
    alice.is_active = False
    with pytest.raises(PermissionDenied, match="cannot ask"):
        services.ask_question(
            author=alice, title="Is this allowed at all?", description="",
            choices=[("Yes", None), ("No", None)], tags=[], max_choices=1,
            closes_at=None, results_visibility="always", image=None,
        )  # fmt: skip


def test_blank_form_has_three_choice_rows_and_one_h1(asker):
    html = asker.get(ASK).content.decode()
    assert html.count("<h1") == 1
    assert row_names(html) == ["choices-0-text", "choices-1-text", "choices-2-text"]
    assert 'name="add_choice"' in html and html.count('name="remove_choice"') == 3
    assert 'type="datetime-local"' in html and "UTC" in html
    assert "One choice" in html and "Several choices" in html and "at most" in html
    assert f'href="{ASK}">Ask a question</a>' in html  # the site's navigation


# --- Creating -----------------------------------------------------------------------------


def test_single_choice_question_is_published_with_everything_asked(asker, alice):
    data = ask_data(("Tea", "Coffee", "", "Water"), results_visibility="after_vote")
    data["choices-TOTAL_FORMS"] = "4"
    response = asker.post(ASK, data)
    question = Question.objects.get()
    assert response.status_code == 302
    assert response["Location"] == question.get_absolute_url()
    assert (question.title, question.author, question.status) == (
        "Which drink starts your morning?", alice, Question.Status.PUBLISHED,
    )  # fmt: skip
    assert question.description == "Before the first meeting of the day."
    assert question.max_choices == 1 and question.closes_at is None
    assert question.results_visibility == Question.Results.AFTER_VOTE
    # The blank row is left out; the others keep their order.
    assert list(question.choices.values_list("text", "position")) == [
        ("Tea", 0), ("Coffee", 1), ("Water", 2),
    ]  # fmt: skip
    assert "Water" in question.search_text and question.published_at is not None
    page = asker.get(response["Location"]).content.decode()
    assert "Your question is published" in page and 'type="radio"' in page


def test_multiple_choice_question_keeps_its_maximum(asker):
    data = ask_data(("Python", "Rust", "Go"), kind="multiple", max_choices="2")
    data["title"] = "Which languages do you enjoy?"
    response = asker.post(ASK, data)
    assert response.status_code == 302
    question = Question.objects.get()
    assert question.max_choices == 2
    page = asker.get(question.get_absolute_url()).content.decode()
    assert "pick up to 2" in page and page.count('type="checkbox"') == 3


def test_maximum_is_ignored_for_a_single_choice_question(asker):
    assert asker.post(ASK, ask_data(kind="single", max_choices="7")).status_code == 302
    assert Question.objects.get().max_choices == 1


def test_closing_time_is_read_as_utc(asker):
    response = asker.post(ASK, ask_data(closes_at="2035-06-01T18:30"))
    assert response.status_code == 302
    assert Question.objects.get().closes_at == datetime(2035, 6, 1, 18, 30, tzinfo=UTC)


def test_new_and_existing_tags(asker, make_question):
    make_question("An older question about food", tags=("Food",))
    response = asker.post(ASK, ask_data(tags=" food , Tokyo  ramen,FOOD, #Café ,, "))
    assert response.status_code == 302
    question = Question.objects.get(title="Which drink starts your morning?")
    tags = {tag.name: tag.slug for tag in question.tags.all()}
    # "food" finds the existing "Food" whatever the case; repeats count once.
    assert tags == {"Food": "food", "Tokyo ramen": "tokyo-ramen", "Café": "café"}
    assert Tag.objects.count() == 3


def test_five_tags_are_allowed(asker):
    response = asker.post(ASK, ask_data(tags="one, two, three, four, five"))
    assert response.status_code == 302
    assert Question.objects.get().tags.count() == 5


# --- Validation -----------------------------------------------------------------------------

FUTURE = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"title": ""}, "id_title", "Type your question."),
        ({"title": "Tea?"}, "id_title", "at least 10 characters long (it has 4)"),
        ({"title": "Why " * 51}, "id_title", "Keep the question to 200 characters"),
        ({"description": "x" * 5001}, "id_description", "Keep the description to 5000"),
        ({"choices-1-text": ""}, "id_choices-1-text", "A question needs at least 2 choices."),
        ({"choices-1-text": " tea "}, "id_choices-1-text", "already in the list"),
        ({"choices-1-text": "x" * 201}, "id_choices-1-text", "Keep a choice to 200 characters"),
        ({"tags": "a, b, c, d, e, f"}, "id_tags", "Use at most 5 tags (there are 6)."),
        ({"tags": "fine, !!!"}, "id_tags", "“!!!” cannot be a tag"),
        ({"tags": "x" * 51}, "id_tags", "too long for a tag"),
        ({"kind": "multiple"}, "id_max_choices", "Say how many choices a voter may pick."),
        ({"kind": "multiple", "max_choices": "3"}, "id_max_choices", "more than the 2 choices"),
        ({"kind": "multiple", "max_choices": "1"}, "id_max_choices", "allow at least 2"),
        ({"kind": "sideways"}, "id_kind", "Select a valid choice."),
        ({"closes_at": "2001-01-01T10:00"}, "id_closes_at", "Pick a closing time in the future"),
        ({"closes_at": "next week"}, "id_closes_at", "Give a date and time"),
        (
            {"results_visibility": "after_close", "closes_at": ""},
            "id_results_visibility",
            "need a closing time",
        ),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_kept(asker, changes, field_id, message):
    data = ask_data(("Tea", "Coffee"), tags="breakfast", closes_at=FUTURE) | changes
    response = asker.post(ASK, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert any(message in error for error in errors_of(html, field_id)), errors_of(html, field_id)
    # Everything typed comes back.
    assert value_of(html, "title") == data["title"]
    assert html_lib.escape(data["description"]) in html
    assert value_of(html, "choices-0-text") == "Tea"
    assert value_of(html, "choices-1-text") == data["choices-1-text"]
    assert value_of(html, "tags") == data["tags"]
    assert value_of(html, "closes_at") == data["closes_at"]
    assert not Question.objects.exists()


def test_typed_choices_of_kind_and_visibility_stay_selected(asker):
    data = ask_data(
        title="short", kind="multiple", max_choices="2", results_visibility="after_vote"
    )
    html = asker.post(ASK, data).content.decode()
    assert re.search(r'value="multiple"[^>]*checked', html)
    assert re.search(r'value="after_vote"[^>]*checked', html)
    assert value_of(html, "max_choices") == "2"


def test_only_one_choice_typed_is_refused(asker):
    data = ask_data(("Tea", "", ""))
    response = asker.post(ASK, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert errors_of(html, "id_choices-1-text") == ["A question needs at least 2 choices."]
    assert errors_of(html, "id_choices-2-text") == []


def test_a_forged_number_of_rows_is_refused(asker):
    data = ask_data(tuple(f"Choice {n}" for n in range(13)))
    response = asker.post(ASK, data)
    assert response.status_code == 400
    assert "at most 12 choices" in response.content.decode()
    assert not Question.objects.exists()


# --- Choice rows without JavaScript ---------------------------------------------------------------


def test_add_another_choice_keeps_everything_and_shows_no_errors(asker):
    data = ask_data(("Tea", "Coffee"), title="", tags="breakfast", add_choice="1")
    response = asker.post(ASK, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert row_names(html) == ["choices-0-text", "choices-1-text", "choices-2-text"]
    assert (
        value_of(html, "choices-0-text") == "Tea" and value_of(html, "choices-1-text") == "Coffee"
    )
    assert value_of(html, "choices-2-text") == ""
    assert value_of(html, "tags") == "breakfast"
    assert "Before the first meeting of the day." in html
    assert all_errors(html) == []  # the empty title is not an error yet
    assert not Question.objects.exists()


def test_remove_takes_out_that_row_only(asker):
    data = ask_data(("Tea", "Coffee", "Water"), remove_choice="1")
    html = asker.post(ASK, data).content.decode()
    assert row_names(html) == ["choices-0-text", "choices-1-text"]
    assert value_of(html, "choices-0-text") == "Tea" and value_of(html, "choices-1-text") == "Water"
    assert "Coffee" not in html
    assert all_errors(html) == []
    # At two rows there is nothing left to remove.
    assert 'name="remove_choice"' not in html


def test_rows_stop_at_twelve(asker):
    data = ask_data(tuple(f"Choice {n}" for n in range(12)), add_choice="1")
    html = asker.post(ASK, data).content.decode()
    assert len(row_names(html)) == 12
    assert 'name="add_choice"' not in html


def test_rearranged_form_then_submits(asker):
    html = asker.post(ASK, ask_data(("Tea", "Coffee"), add_choice="1")).content.decode()
    assert value_of(html, "choices-TOTAL_FORMS") == "3"
    data = ask_data(("Tea", "Coffee", "Water"))
    assert asker.post(ASK, data).status_code == 302
    assert Question.objects.get().choices.count() == 3


# --- Similar questions ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # InnoDB indexes FULLTEXT rows at commit
def test_similar_title_warns_then_posts_when_confirmed(client, alice, settings, make_question):
    settings.MODERATE_FIRST_QUESTIONS = 0
    older = make_question("Which restaurant serves the best ramen?")
    make_question("Which languages do you enjoy?")
    client.force_login(alice)
    data = ask_data(("Ichiran", "Menya"), title="Which restaurant serves the best ramen in town?")
    response = client.post(ASK, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "These questions look similar:" in html
    assert f'href="{older.get_absolute_url()}"' in html
    assert "Which languages do you enjoy?" not in html
    assert 'name="confirm"' in html and "Post mine anyway" in html
    assert value_of(html, "title") == data["title"]
    assert value_of(html, "choices-1-text") == "Menya"
    assert all_errors(html) == []
    assert Question.objects.count() == 2

    response = client.post(ASK, data | {"confirm": "1"})
    assert response.status_code == 302
    assert Question.objects.filter(title=data["title"]).exists()


@pytest.mark.django_db(transaction=True)
def test_different_title_sharing_words_is_not_similar(client, alice, settings, make_question):
    settings.MODERATE_FIRST_QUESTIONS = 0
    make_question("Which restaurant serves the best ramen?")
    client.force_login(alice)
    data = ask_data(title="Which city has the best public transport?")
    assert client.post(ASK, data).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_title_full_of_search_operators_is_just_words(client, alice, settings, make_question):
    settings.MODERATE_FIRST_QUESTIONS = 0
    make_question('Is "C++" better than C#? (really) +fast -slow ~maybe <yes> @home*')
    client.force_login(alice)
    data = ask_data(title='Is "C++" better than C#? (really) +fast -slow ~maybe <yes> @home')
    html = client.post(ASK, data).content.decode()
    assert "These questions look similar:" in html


# --- Moderation of first questions ---------------------------------------------------------------


def test_first_question_waits_for_review_then_later_ones_publish(client, alice, staff, settings):
    settings.MODERATE_FIRST_QUESTIONS = 1
    client.force_login(alice)
    response = client.post(ASK, ask_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("polls:ask_pending")
    first = Question.objects.get()
    assert first.status == Question.Status.PENDING and first.published_at is None
    page = client.get(response["Location"]).content.decode()
    assert "waits for review" in page and first.title in page
    assert client.get(first.get_absolute_url()).status_code == 404

    # Asking again before a moderator looked still waits.
    client.post(ASK, ask_data(title="Which tea do you drink in the afternoon?"))
    assert Question.objects.get(title__contains="afternoon").status == Question.Status.PENDING

    services.approve_questions(questions=[first], moderator=staff)
    first.refresh_from_db()
    assert first.status == Question.Status.PUBLISHED
    assert client.get(first.get_absolute_url()).status_code == 200

    response = client.post(ASK, ask_data(title="Which biscuit goes best with tea?"))
    later = Question.objects.get(title="Which biscuit goes best with tea?")
    assert later.status == Question.Status.PUBLISHED
    assert response["Location"] == later.get_absolute_url()


# --- Pictures ---------------------------------------------------------------------------------


@pytest.fixture
def media(local_media):
    return local_media


def jpeg(name: str = "photo.jpg", size: tuple[int, int] = (800, 600)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, (200, 80, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_question_and_choice_pictures_are_stored_and_shown(asker, media):
    data = ask_data(("Tea", "Coffee")) | {"image": jpeg(), "choices-1-image": jpeg(size=(300, 400))}
    response = asker.post(ASK, data)
    assert response.status_code == 302
    question = Question.objects.get()
    coffee = question.choices.get(text="Coffee")
    assert question.image is not None and coffee.image is not None
    assert question.choices.get(text="Tea").image is None
    for image in (question.image, coffee.image):
        assert (media / "media" / image.display.name).exists()
        assert image.uploaded_by == question.author
    html = asker.get(question.get_absolute_url()).content.decode()
    image = question.image
    assert (
        f'src="{image.display.url}" width="{image.display_width}" height="{image.display_height}"'
    ) in html
    assert (
        f'src="{coffee.image.display.url}" width="{coffee.image.display_width}" '
        f'height="{coffee.image.display_height}"'
    ) in html


def test_refused_picture_is_explained_beside_its_field(asker, media):
    fake = SimpleUploadedFile("cat.jpg", b"I am only text pretending.", content_type="image/jpeg")
    response = asker.post(ASK, ask_data(tags="pets") | {"choices-1-image": fake})
    assert response.status_code == 400
    html = response.content.decode()
    assert errors_of(html, "id_choices-1-image") == [
        "This file is not an image Beebeta accepts (JPEG, PNG, WebP or GIF)."
    ]
    assert value_of(html, "title") == "Which drink starts your morning?"
    assert value_of(html, "choices-1-text") == "Coffee" and value_of(html, "tags") == "pets"
    assert not Image.objects.exists() and not Question.objects.exists()


def kept_token(html: str, name: str) -> str:
    token = value_of(html, name)
    assert token, f"no kept picture in {name}"
    return token


def test_accepted_picture_survives_another_fields_error(asker, media):
    response = asker.post(ASK, ask_data(title="") | {"image": jpeg()})
    assert response.status_code == 400
    html = response.content.decode()
    image = Image.objects.get()
    assert "Kept:" in html and "tick to remove" in html
    assert f'src="{image.thumbnail.url}" width="{image.thumbnail_width}"' in html
    assert errors_of(html, "id_title") == ["Type your question."]

    # Submitted again without the file: the kept picture is used, not uploaded again.
    data = ask_data() | {"kept_image": kept_token(html, "kept_image")}
    assert asker.post(ASK, data).status_code == 302
    assert Question.objects.get().image == image
    assert Image.objects.count() == 1


def test_pictures_are_kept_when_rows_change(asker, media):
    data = ask_data(("Tea", "Coffee", "Water"), remove_choice="0")
    data |= {"choices-1-image": jpeg("coffee.jpg"), "choices-2-image": jpeg("water.jpg")}
    html = asker.post(ASK, data).content.decode()
    assert all_errors(html) == []
    assert value_of(html, "choices-0-text") == "Coffee"
    tokens = [kept_token(html, f"choices-{n}-kept_image") for n in (0, 1)]
    data = ask_data(("Coffee", "Water"))
    data |= {"choices-0-kept_image": tokens[0], "choices-1-kept_image": tokens[1]}
    assert asker.post(ASK, data).status_code == 302
    question = Question.objects.get()
    assert all(choice.image is not None for choice in question.choices.all())
    assert Image.objects.count() == 2


def test_tick_to_remove_drops_the_kept_picture(asker, media):
    html = asker.post(ASK, ask_data(title="") | {"image": jpeg()}).content.decode()
    data = ask_data() | {"kept_image": kept_token(html, "kept_image"), "remove_image": "on"}
    assert asker.post(ASK, data).status_code == 302
    assert Question.objects.get().image is None


def test_someone_elses_kept_picture_cannot_be_attached(client, alice, bob, settings, media):
    settings.MODERATE_FIRST_QUESTIONS = 0
    client.force_login(bob)
    html = client.post(ASK, ask_data(title="") | {"image": jpeg()}).content.decode()
    bobs_token = kept_token(html, "kept_image")
    client.force_login(alice)
    assert client.post(ASK, ask_data() | {"kept_image": bobs_token}).status_code == 302
    assert Question.objects.get().image is None
    forged = ask_data() | {
        "kept_image": f"{Image.objects.get().pk}:forged",
        "title": "Another one?!",
    }
    client.post(ASK, forged)
    assert not Question.objects.filter(image__isnull=False).exists()


# --- Describing pictures ----------------------------------------------------------------------


def test_every_picture_slot_has_a_description_field(asker):
    html = asker.get(ASK).content.decode()
    for prefix in ("", "choices-0-", "choices-1-", "choices-2-"):
        assert f'name="{prefix}alt_text"' in html
        assert re.search(rf'<label for="id_{prefix}alt_text">Describe the picture', html)


def test_typed_descriptions_are_stored_and_used_as_alt_text(asker, media):
    data = ask_data(("Tea", "Coffee")) | {
        "image": jpeg(),
        "alt_text": "  A cup of   tea on a saucer ",
        "choices-1-image": jpeg("coffee.jpg"),
        "choices-1-alt_text": "An espresso with crema",
    }
    assert asker.post(ASK, data).status_code == 302
    question = Question.objects.get()
    coffee = question.choices.get(text="Coffee")
    assert question.image.alt_text == "A cup of tea on a saucer"
    assert coffee.image.alt_text == "An espresso with crema"
    html = asker.get(question.get_absolute_url()).content.decode()
    assert 'alt="A cup of tea on a saucer"' in html and 'alt="An espresso with crema"' in html
    listing = asker.get("/").content.decode()
    assert 'class="thumb"' in listing and 'alt="A cup of tea on a saucer"' in listing


def test_an_empty_description_becomes_the_text_the_picture_goes_with(asker, media):
    data = ask_data(("Tea", "Coffee")) | {"image": jpeg(), "choices-1-image": jpeg("coffee.jpg")}
    assert asker.post(ASK, data).status_code == 302
    question = Question.objects.get()
    assert question.image.alt_text == question.title
    assert question.choices.get(text="Coffee").image.alt_text == "Coffee"
    # Beside the words it repeats, it is left empty rather than read twice.
    html = asker.get(question.get_absolute_url()).content.decode()
    assert re.search(r'<img class="question-image" [^>]*alt=""', html)


def test_descriptions_survive_rearranging_and_errors(asker, media):
    data = ask_data(("Tea", "Coffee"), add_choice="1") | {
        "alt_text": "A steaming cup",
        "choices-1-alt_text": "Beans",
    }
    html = asker.post(ASK, data).content.decode()
    assert value_of(html, "alt_text") == "A steaming cup"
    assert value_of(html, "choices-1-alt_text") == "Beans"
    too_long = asker.post(ASK, ask_data() | {"alt_text": "x" * 201})
    assert too_long.status_code == 400
    assert "Keep the description to 200 characters (it has 201)." in too_long.content.decode()


def test_the_title_can_arrive_filled_in_from_a_search(asker, client):
    html = asker.get(ASK, {"title": "  Is pineapple   on pizza fine? "}).content.decode()
    assert value_of(html, "title") == "Is pineapple on pizza fine?"
    assert all_errors(html) == []
    client.logout()
    response = client.get(ASK, {"title": "Is pineapple on pizza fine?"})
    # Asked to log in first, and brought back with the title still there.
    assert response["Location"].endswith(
        "next=/ask/%3Ftitle%3DIs%2Bpineapple%2Bon%2Bpizza%2Bfine%253F"
    )
